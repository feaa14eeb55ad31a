printf 'apple\nbanana\ncherry\napricot\n' > fruits.txt
grep ap fruits.txt
grep -c a fruits.txt
grep -v an fruits.txt
grep -n '^c' fruits.txt
grep nothing fruits.txt; echo "status $?"
sed 's/a/A/g' fruits.txt
sed -n '2,3p' fruits.txt
sed -i 's/cherry/CHERRY/' fruits.txt
cat fruits.txt
