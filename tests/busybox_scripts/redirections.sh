echo one > out.txt
echo two >> out.txt
cat out.txt
wc -l < out.txt
ls nonexistent-file > err.txt 2>&1; echo "status $?"
cat err.txt
{ echo to-stderr >&2; } 2>&1 | cat
cat < out.txt > copy.txt
cat copy.txt
echo three > out.txt
cat out.txt
exec 3> fd3.txt
echo via-fd3 >&3
exec 3>&-
cat fd3.txt
