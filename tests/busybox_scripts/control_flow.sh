i=0
while [ $i -lt 5 ]; do i=$((i + 1)); done
echo "i=$i"
for w in one two three; do echo "word $w"; done
if [ $i -eq 5 ]; then echo five; elif [ $i -gt 5 ]; then echo more; else echo less; fi
n=0
until [ $n -ge 3 ]; do n=$((n + 1)); done
echo "n=$n"
for x in 1 2 3 4 5 6; do
  [ $x -eq 2 ] && continue
  [ $x -eq 5 ] && break
  echo "x=$x"
done
