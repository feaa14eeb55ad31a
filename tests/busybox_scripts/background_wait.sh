sleep 0.2 &
p1=$!
(exit 5) &
p2=$!
wait $p1; echo "first $?"
wait $p2; echo "second $?"
for i in 1 2 3; do echo "job $i" > job$i.txt & done
wait
cat job1.txt job2.txt job3.txt
