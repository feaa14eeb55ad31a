a=$(echo inner)
echo "got $a"
b=`echo back tick`
echo "got $b"
c=$(echo $(echo nested))
echo "got $c"
n=$(seq 1 5 | wc -l)
echo "lines $n"
echo "len $(printf abc | wc -c)"
