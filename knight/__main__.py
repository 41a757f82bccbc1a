from knight.cli import run

run()
