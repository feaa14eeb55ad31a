x=outer
(x=inner; echo "in $x")
echo "out $x"
(exit 4); echo "sub $?"
(echo a; echo b) | sort -r
mkdir sub
(cd sub && pwd | sed 's|.*/||')
pwd | sed 's|.*/||' | grep -c sub
