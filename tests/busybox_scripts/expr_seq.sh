expr 2 + 3
expr 10 / 3
expr length hello
expr 5 \> 3
seq 3
seq 2 2 10
seq -s , 1 5
