#!/bin/bash
# the build machine sets itself up from a script rather than a cloud-config
set -e
hostnamectl set-hostname builder
systemctl start docker
docker run -d --restart=always --name builder example/builder
