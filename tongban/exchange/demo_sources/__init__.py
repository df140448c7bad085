"""示例 — the demo city's department systems (演示用部门业务系统).

Not part of the platform: a stand-in for the department systems the platform asks over the
data exchange (数据共享交换). `dataset` writes their own records (one SQLite store, apart from
the platform's database) from the demo population; `app` answers the wire protocol of
docs/exchange (signed POST per source, /healthz) with fault injection; `server` runs it in a
background thread for tests, `manage.py demo_sources` in the foreground for `make run`.
"""
