echo hello world
echo -n no-newline; echo
echo "quoted   spaces" 'single $quotes'
printf '%s=%d\n' answer 42
printf '%5s|%-5s|%03d|%x\n' ab cd 7 255
printf 'tab\there\n'
printf '%s\n' one two three
