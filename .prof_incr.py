import cProfile, pstats, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, "/tmp/cb/sync-pull")
sys.argv = ["x"]
import bench.sync as b
name, peers = f"benchp-{int(time.time())}", b.peers_dir()
site = b.start_site(peers, name, "RS384", ["--", "--default-count", "1000"])
try:
    with tempfile.TemporaryDirectory() as tmp:
        bench = b.Bench(site, f"sqlite:///{Path(tmp) / 'bench.db'}")
        b.seed_patients(site, 3000)
        bench.pull("p")
        b.change_patients(site, 30)
        pr = cProfile.Profile(); pr.enable()
        report, seconds = bench.pull_again(bench.last_partner)
        pr.disable()
        print(report.counts, seconds)
        pstats.Stats(pr).sort_stats("cumulative").print_stats(45)
finally:
    b.stop_sites(peers, [name])
