echo $((1 + 2 * 3)) $(( (7 - 2) * 4 / 3 )) $((17 % 5)) $((1 << 10)) $((-5 / 2))
x=10
x=$((x * x))
echo $x
echo $(( x > 50 ? 1 : 0 )) $((0x1f)) $((x & 12)) $((x | 1))
i=0; sum=0
while [ $i -lt 100 ]; do i=$((i + 1)); sum=$((sum + i)); done
echo "sum $sum"
