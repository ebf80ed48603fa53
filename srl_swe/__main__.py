from srl_swe.cli import app

if __name__ == "__main__":  # not when a spawned process (the quickstart's more-SFT row) imports it
    app(prog_name="srl-swe")
