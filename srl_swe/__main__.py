from srl_swe.cli import app

app(prog_name="srl-swe")
