# The kernel runs "@BUSYBOX@ cat ./show.txt": the file is printed, #! line included. (busybox sh's own fallback
# for ENOEXEC would instead run it as a shell script, so this needs the kernel's #! support.)
printf '#!@BUSYBOX@ cat\nhello from cat\n' > show.txt
chmod +x show.txt
./show.txt | sed 's|^#!.* cat$|#!BUSYBOX cat|'
echo "status $?"
