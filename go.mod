module github.com/elb-access-logger/elb-access-logger

go 1.26.8
