mkdir dir
touch dir/b dir/a dir/c
mkdir dir/sub
ls dir
echo ---
ls -a dir
echo ---
ls -d dir/s*
