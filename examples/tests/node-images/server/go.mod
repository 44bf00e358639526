module clusterdef.test/server

go 1.22
