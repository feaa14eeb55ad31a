printf '3\n1\n2\n10\n' | sort -n
printf 'c\nb\na\n' | sort -r | head -n 2
printf 'x\ny\nx\n' | sort | uniq -c
printf 'a:b:c\n1:2:3\n' | cut -d: -f2
seq 1 10 | tail -n 3
