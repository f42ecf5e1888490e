"""`make bench`: the figures at scale and the load test. Not an installed app and not part of the
package: it runs from the repository (`python -m bench`), reading the apps like any client."""
