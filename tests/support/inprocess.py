"""For fast tests that run several "processes" of piplockhook in one: the
per-process state each module owns, made new."""


def fresh_process():
    """As a new process starts: no warning said (report.SAID), no lock held
    here (environment.HELD), no pip hook state (pip.hook())."""
    import piplockhook.pip
    from piplockhook import report
    from piplockhook.lock import environment

    report.SAID.clear()
    environment.HELD.clear()
    piplockhook.pip._hook = None
