cat <<EOT
line one
value $((2 + 3))
EOT
cat <<'EOT'
literal $HOME `not run`
EOT
while read a b; do echo "$b $a"; done <<EOT
1 x
2 y
EOT
tr a-z A-Z <<-EOT
	indented
	EOT
