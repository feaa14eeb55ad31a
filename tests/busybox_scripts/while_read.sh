printf 'alpha 1\nbeta 2\ngamma 3\n' > data.txt
total=0
while read name num; do
  echo "$name -> $num"
  total=$((total + num))
done < data.txt
echo "total $total"
cat data.txt | while read line; do echo "line: $line"; done
