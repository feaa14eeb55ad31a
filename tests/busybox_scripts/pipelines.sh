seq 1 100 | wc -l
echo b a c | tr ' ' '\n' | sort
seq 1 20 | grep 1 | wc -l
seq 10 -1 1 | sort -n | head -n 3
echo hello | cat | cat | cat | tr a-z A-Z
