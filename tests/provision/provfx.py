"""provfx — fixtures of the provisioner tests: real servers from Debian on
free loopback ports in temporary folders (PostgreSQL, slapd, redis-server),
shiftkeyd with its embedded broker, a reader of the topics (confluent_kafka
+ tests/blackbox/skwire.py), and shiftkey-provision processes. Ports,
waiting, redis-server, shiftkeyd and the reader come from tests/lib/skproc.py.

PostgreSQL refuses to run as root: as root, initdb and postgres run as the
`postgres` user the Debian package creates (else `nobody`) through runuser.
"""

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import skproc  # noqa: E402
from skproc import free_port, wait_until  # noqa: E402,F401 (test_provision uses them)

from confluent_kafka import Producer  # noqa: E402

PROV = os.environ.get("SK_PROVISION", os.path.join(ROOT, "build", "test", "bin", "provision",
                                                   "shiftkey-provision"))
CLI = os.environ.get("SK_CLI", os.path.join(ROOT, "build", "test", "bin", "shiftkey"))
T_COMMANDS = "shiftkey.commands.v1"
T_RESULTS = "shiftkey.provisioning.results.v1"


def write_secret(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, mode)
    return path


class Reader(skproc.Reader):
    """Every record of the topics, decoded, in arrival order; keys as text."""

    def __init__(self, bootstrap, topics):
        super().__init__(bootstrap, topics, text_keys=True)


class Engine:
    """redis-server + shiftkeyd --kafka embedded (4 partitions per topic: the
    engine refuses a result on another partition than murmur2 of its key)
    + a Reader of commands and results."""

    def __init__(self, tmp, rules):
        self.tmp, self.rules, self.procs = tmp, rules, []
        self.boot = os.path.join(tmp, "bootstrap")
        self.log = os.path.join(tmp, "engine.log")

    def start(self):
        redis = skproc.Redis(self.tmp)
        self.procs.append(redis)
        self.redis_addr = redis.addr
        if not redis.start():
            return False
        self.daemon = skproc.Shiftkeyd(self.tmp, self.rules, redis.addr, "prov-test", log=self.log)
        self.engine = self.daemon.start()
        self.procs.append(self.daemon)
        if not self.daemon.wait_assigned("shiftkey.schedule.v1"):
            return False
        self.bootstrap = self.daemon.bootstrap
        self.reader = Reader(self.bootstrap, [T_COMMANDS, T_RESULTS])
        self.reader.start()
        return wait_until(lambda: len({t for t, _ in self.reader.assigned}) == 2, 20)

    def cli(self, *args):
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        return subprocess.run([CLI] + list(args) + ["--kafka", self.bootstrap],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)

    def produce(self, topic, key, value):
        p = Producer({"bootstrap.servers": self.bootstrap, "partitioner": "murmur2_random"})
        p.produce(topic, key=key.encode(), value=value)
        return p.flush(10) == 0

    def stop_engine(self):
        self.engine.send_signal(signal.SIGTERM)
        try:
            self.engine.wait(15)
        except subprocess.TimeoutExpired:
            self.engine.kill()

    def stop(self):
        if hasattr(self, "reader"):
            self.reader.close()
        for p in reversed(self.procs):
            p.stop()


def pg_bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    return dirs[-1] if dirs else None


class Postgres:
    """A PostgreSQL cluster in tmp/pg on a free port: local socket with
    trust (psql checks as the admin), TCP with scram passwords."""

    def __init__(self, tmp):
        self.bindir = pg_bindir()
        self.dir = os.path.join(tmp, "pg")
        self.port = free_port()
        self.run_as = None
        if os.geteuid() == 0:
            for user in ("postgres", "nobody"):
                try:
                    pwd.getpwnam(user)
                    self.run_as = user
                    break
                except KeyError:
                    continue

    def _cmd(self, args):
        if self.run_as:
            return ["runuser", "-u", self.run_as, "--"] + args
        return args

    def init(self):
        if not self.bindir:
            return "no /usr/lib/postgresql/*/bin (install postgresql)"
        os.makedirs(self.dir)
        if self.run_as:
            pw = pwd.getpwnam(self.run_as)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        r = subprocess.run(self._cmd([os.path.join(self.bindir, "initdb"), "-D",
                                      os.path.join(self.dir, "data"), "-U", "skadmin",
                                      "--auth-local=trust", "--auth-host=scram-sha-256",
                                      "-E", "UTF8", "--no-locale"]),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return None if r.returncode == 0 else r.stdout.decode()[-2000:]

    def start(self):
        r = subprocess.run(self._cmd([os.path.join(self.bindir, "pg_ctl"), "-D",
                                      os.path.join(self.dir, "data"), "-l",
                                      os.path.join(self.dir, "log"), "-w", "-o",
                                      "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off"
                                      % (self.port, self.dir), "start"]),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return r.returncode == 0

    def stop(self, mode="fast"):
        subprocess.run(self._cmd([os.path.join(self.bindir, "pg_ctl"), "-D",
                                  os.path.join(self.dir, "data"), "-m", mode, "-w", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def psql(self, sql):
        r = subprocess.run(["psql", "-h", self.dir, "-p", str(self.port), "-U", "skadmin", "-d",
                            "postgres", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return r.stdout.decode().strip() if r.returncode == 0 else None

    def members(self, role):
        out = self.psql("SELECT m.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = "
                        "a.roleid JOIN pg_roles m ON m.oid = a.member WHERE r.rolname = '%s' "
                        "ORDER BY 1" % role)
        return out.split("\n") if out else []


SLAPD_CONF = """include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {dir}/slapd.pid
database mdb
maxsize 10485760
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
rootpw {password}
directory {dir}/db
"""


class Slapd:
    """OpenLDAP's slapd with a generated slapd.conf in tmp/ldap."""

    BASE = "dc=example,dc=com"
    ADMIN = "cn=admin,dc=example,dc=com"

    def __init__(self, tmp, password):
        self.dir = os.path.join(tmp, "ldap")
        self.port = free_port()
        self.password = password
        self.url = "ldap://127.0.0.1:%d/" % self.port

    def start(self):
        if not shutil.which("slapd") and not os.path.exists("/usr/sbin/slapd"):
            return "no slapd (install slapd)"
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        conf = os.path.join(self.dir, "slapd.conf")
        with open(conf, "w") as f:
            f.write(SLAPD_CONF.format(dir=self.dir, password=self.password))
        os.chmod(conf, 0o600)
        r = subprocess.run(["/usr/sbin/slapd", "-f", conf, "-h", self.url],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            return r.stdout.decode()[-2000:]
        ok = wait_until(lambda: self.search(self.BASE, "base") is not None or self._empty(), 10)
        return None if ok else "slapd did not answer"

    def _empty(self):
        r = subprocess.run(["ldapsearch", "-x", "-H", self.url, "-D", self.ADMIN, "-w",
                            self.password, "-b", "", "-s", "base"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return r.returncode == 0

    def add(self, ldif):
        r = subprocess.run(["ldapadd", "-x", "-H", self.url, "-D", self.ADMIN, "-w",
                            self.password], input=ldif.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        return r.returncode == 0 or r.stdout.decode()

    def modify(self, ldif):
        r = subprocess.run(["ldapmodify", "-x", "-H", self.url, "-D", self.ADMIN, "-w",
                            self.password], input=ldif.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        return r.returncode == 0

    def search(self, base, scope="sub", filt="(objectClass=*)", *attrs):
        r = subprocess.run(["ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no", "-H", self.url,
                            "-D", self.ADMIN, "-w", self.password, "-b", base, "-s", scope, filt]
                           + list(attrs), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return r.stdout.decode() if r.returncode == 0 else None

    def members(self, group_dn):
        out = self.search(group_dn, "base", "(objectClass=*)", "member") or ""
        return sorted(line.split(":", 1)[1].strip().lower() for line in out.splitlines()
                      if line.lower().startswith("member:"))

    def stop(self):
        try:
            with open(os.path.join(self.dir, "slapd.pid")) as f:
                pid = int(f.read().strip())
            os.kill(pid, signal.SIGTERM)
            wait_until(lambda: not os.path.exists("/proc/%d" % pid), 10)
        except (OSError, ValueError):
            pass


class Provisioner:
    """One shiftkey-provision process with its config file and log."""

    def __init__(self, tmp, name, conf_text, env=None):
        self.tmp, self.name = tmp, name
        self.conf = os.path.join(tmp, name + ".conf")
        self.log = os.path.join(tmp, name + ".log")
        with open(self.conf, "w") as f:
            f.write(conf_text)
        self.env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")
        self.env.update(env or {})
        self.proc = None

    def check(self):
        r = subprocess.run([PROV, "--config", self.conf, "--check"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=self.env, timeout=60)
        return r.returncode, r.stderr.decode("utf-8", "replace")

    def start(self, bootstrap_file, *extra):
        self.proc = subprocess.Popen([PROV, "--config", self.conf, "--bootstrap-file",
                                      bootstrap_file] + list(extra),
                                     stdout=open(self.log, "a"), stderr=subprocess.STDOUT,
                                     env=self.env)
        return wait_until(lambda: "started" in self.text() or self.proc.poll() is not None, 30) \
            and self.proc.poll() is None

    def text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return -9
        return self.proc.returncode if self.proc else None


def tmpdir():
    d = tempfile.mkdtemp(prefix="sk-prov-")
    os.chmod(d, 0o755)  # postgres (another user) works in a folder below
    return d
