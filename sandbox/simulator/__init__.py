"""The operator simulator: plays KubeDB's and KubeStash's part on the sandbox API servers.

The real operators need pods, so they cannot run against the sandbox. The simulator
watches the same objects they watch and writes what they write, with the upstream field
names, phases and conditions (``shared/reference/kubestash-kubedb-api.md``). One module
per controller it plays; each module's docstring says what it writes and which guesses
it makes where the reference is silent:

* :mod:`~sandbox.simulator.databases` -- KubeDB databases (every kind served by
  ``kubedb.com`` v1 or v1alpha2): Provisioning, then Ready once ProvisioningStarted,
  Provisioned, ReplicaReady, AcceptingConnection and Ready are set; Halted while
  ``spec.halted``; the phase always derived from the conditions in KubeDB's priority
  order; DataRestoring for a point-in-time recovery (``spec.init.archiver``); Provisioning
  until restored with ``spec.init.waitForInitialRestore``.
* :mod:`~sandbox.simulator.services` -- the Services KubeDB makes for each database
  (``<db>``, ``<db>-pods``, ``<db>-standby`` for replicated Postgres/MySQL/MariaDB),
  labelled and selecting as KubeDB does, owned by the database; a selector someone else
  changed is put back, except the primary's while the gateway has paused traffic
  (``{stashql.io/traffic: paused}`` or ``stashql.io/traffic-paused-at`` on the
  database) -- unless the database says ``sim.stashql.io/revert-traffic: "true"``.
* :mod:`~sandbox.simulator.blueprints` -- auto-backup: a database annotated
  ``blueprint.kubestash.com/name|namespace`` gets the BackupConfiguration
  ``appbinding-<db>`` from that BackupBlueprint, ``${var}`` filled from
  ``variables.kubestash.com/<var>`` (``${var:=default}`` takes the default), when the
  blueprint's usagePolicy allows the namespace. Blueprints no database annotation names
  (the gateway's BackupPolicies, which it expands itself) are never expanded.
* :mod:`~sandbox.simulator.archivers` -- a database without ``spec.archiver`` that an
  archiver admits (its ``spec.databases`` namespace rule and label selector: KubeDB's
  double opt-in) gets ``spec.archiver.ref`` written; a database with
  ``spec.archiver.ref`` gets BackupConfiguration ``<db>-archiver`` (sessions full-backup
  and manifest-backup, repositories ``<db>-full`` and ``<db>-manifest``) and, after its
  first full backup, the long-lived Snapshot ``<db>-incremental-snapshot`` whose
  ``logStats.end`` advances every step, except while ``spec.archiver.pause`` (or the
  archiver's ``spec.pause``) holds.
* :mod:`~sandbox.simulator.repositories` -- BackupStorages become Ready; Repositories'
  status (snapshotCount, size, lastBackupTime, recentSnapshots) follows their Snapshots.
  A Repository whose location (BackupStorage bucket/prefix and ``spec.path``) another
  cluster's Repository also uses gets that cluster's Snapshots copied in, as KubeStash
  finds them in the bucket (:mod:`~sandbox.simulator.bucket`, the one view all clusters
  share).
* :mod:`~sandbox.simulator.configurations` -- BackupConfigurations: ValidationPassed,
  backends, repositories (created from the sessions), sessions and phase
  Ready/NotReady/Invalid; one initial backup (InitialBackupTriggered), then BackupSessions
  on each session's cron schedule evaluated on *simulated* time (``time_scale``
  simulated seconds per real second); ``nextSchedule`` is the real wall-clock time of
  that firing. Applied before its storage or database, it waits NotReady, saying why;
  deleted, it fires no more, and its Repositories and Snapshots stay.
* :mod:`~sandbox.simulator.sessions` and :mod:`~sandbox.simulator.snapshots` --
  BackupSessions: Pending, Running (Snapshots created in their Repositories), then
  Succeeded or Failed; Skipped when the configuration is not ready or paused, or another
  run of the same session is still going. Sessions a user creates (triggerBackup) run
  the same way. Retention (``successfulSnapshots.last`` /
  ``failedSnapshots.last``, capped) and ``sessionHistoryLimit`` are applied afterwards.
* :mod:`~sandbox.simulator.restores` -- RestoreSessions: Pending, Running with
  ``percentDone`` rising, then the post-restore hooks (``status.hooks.postHooks``,
  :mod:`~sandbox.simulator.restore_hooks`), Succeeded or Failed (Invalid when the
  webhook rules refuse it), the phase derived from the conditions as KubeStash does; the
  target database goes DataRestoring, then Ready (or NotReady on failure or deletion);
  the database's BackupConfigurations are paused meanwhile and listed in
  ``status.pausedBackups`` -- those already paused (by the gateway's restore workflow or
  their owner) are listed but never resumed by us (:mod:`~sandbox.simulator.pauses`).
* :mod:`~sandbox.simulator.catalog` -- the addon catalog the controllers draw on: the
  Snapshot component and driver of each addon task, and the failure messages.

The machinery: :mod:`~sandbox.simulator.core` (settings, clock, failure injection, status
writers), :mod:`~sandbox.simulator.discovery` (which kinds a cluster serves),
:mod:`~sandbox.simulator.cluster` (informers, our own recent writes, API calls, the
reconcile loop) and :mod:`~sandbox.simulator.runner` (:class:`Simulator`, wiring the
controllers of each cluster). Readers of raw objects, resource identity and references
are the gateway's own (:mod:`apis.objects`, :mod:`apis.resources`, :mod:`apis.links`).

Failures can be injected with ``fail_rate`` (0..1, per backup, restore and log push) or
the annotation ``simulator.stashql.dev/fail`` (``backup``, ``restore``, ``log``, or several
separated by commas) on the database, BackupConfiguration, BackupSession, RestoreSession
or archiver: while it is present, those operations fail with a realistic message.
A post-restore hook fails when its HookTemplate is annotated ``sim.stashql.io/fail:
"true"`` (or the fail annotation lists ``hook``) or the hook's params hold ``fail:
"true"``; ``sim.stashql.io/revert-traffic: "true"`` on a database makes the simulator
undo the gateway's traffic pause, as the real KubeDB would (Database.traffic DRIFTED).

All times written are real wall-clock times; only schedules run on simulated time.
Every API call has a deadline; errors are logged (and kept in :attr:`Simulator.errors`),
never raised; each object is reconciled at most once per step; status goes through the
status subresource with server-side apply (field manager ``stashql-simulator``), spec
changes with merge patches under the same manager.
"""

from sandbox.simulator.core import FAIL_ANNOTATION, FIELD_MANAGER
from sandbox.simulator.runner import Simulator

__all__ = ["FAIL_ANNOTATION", "FIELD_MANAGER", "Simulator"]
