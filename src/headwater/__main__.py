from headwater.cli.main import app

app(prog_name="headwater")
