#!/bin/sh
# Builds examples/java/SparkPi.java into a jar with SparkPi as its Main-Class:
#   examples/java/build.sh OUT.jar   (needs javac, jar and $SPARK_HOME)
set -eu
out=${1:?usage: build.sh OUT.jar}
src=$(cd "$(dirname "$0")" && pwd)
classes=$(mktemp -d)
trap 'rm -rf "$classes"' EXIT
javac -cp "${SPARK_HOME:?set SPARK_HOME}/jars/*" -d "$classes" "$src/SparkPi.java"
jar cfe "$out" SparkPi -C "$classes" .
