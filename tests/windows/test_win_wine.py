"""What the tier asks of Wine itself (winprocs.WINE_ARGV)."""

ADDR_NO_RANDOMIZE = 0x0040000  # linux/personality.h


def test_windows_programs_run_without_address_randomization(win):
    # Why: see WINE_ARGV. The programs a Windows program starts inherit the
    # personality (the kernel keeps it across fork and exec).
    program = win.start([win.python, "-c", "import sys; print('up', flush=True); sys.stdin.readline()"])
    try:
        program.expect("up", stream="stdout", timeout=120)
        with open(f"/proc/{program.proc.pid}/personality") as f:
            personality = int(f.read(), 16)
        with open(f"/proc/{program.proc.pid}/cmdline", "rb") as f:
            assert b"python.exe" in f.read()  # Wine's process itself, which setarch became
        assert personality & ADDR_NO_RANDOMIZE, f"personality {personality:#x}"
        program.send("")
        assert program.finish()[0] == 0
    finally:
        program.kill()
