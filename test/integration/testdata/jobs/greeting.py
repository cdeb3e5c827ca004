"""A module that interactive-session tests add with add-pyfile."""


def greet(name):
    return "hello, " + name
