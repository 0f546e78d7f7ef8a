module example.com/kw

go 1.26
