false; echo $?
