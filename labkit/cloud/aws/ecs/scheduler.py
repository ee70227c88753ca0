"""What ECS's agent and service scheduler do, on one thread per cloud: moves each task through
PROVISIONING -> PENDING -> ACTIVATING -> RUNNING -> DEACTIVATING -> STOPPING -> DEPROVISIONING ->
STOPPED (one step per pass, so every state can be seen), starts and stops its containers through the
runtime (`state.runtime`, issue 8), and keeps each service at its desired count: replacing stopped
tasks, rolling deployments within maximumPercent / minimumHealthyPercent, writing the service's
events as ECS words them.

Model changes happen under `state.lock`; runtime calls never do (its callbacks take the lock from
the runtime's threads, and a stop may wait for a process). The thread ends when CloudState.reset()
drops the backend.
"""
from __future__ import annotations

import sys
import threading
import traceback

from labkit.cloud.aws.ecs import awslogs, cloudmap, images
from labkit.cloud.aws.ecs import models as m
from labkit.cloud.runtime import ContainerSpec, RuntimeLimit

BUSY_INTERVAL_S = 0.05   # between passes while anything moves
IDLE_INTERVAL_S = 2.0    # between passes when nothing moves (a wake() cuts it short)
DEFAULT_STOP_TIMEOUT_S = 30  # Fargate's default stopTimeout
START_IMPAIRED_AFTER = 3     # failed starts before ECS says the service cannot start tasks
QUOTA_REACHED = ("You've reached the limit on the number of tasks you can run concurrently. For more "
                 "information, see the Amazon ECS documentation.")
NO_RUNTIME = ("ResourceInitializationError: this labkit local cloud has no container runtime "
              "(labkit/cloud/runtime), so no task can start")


class Scheduler:
    def __init__(self, backend: m.EcsBackend):
        self.backend = backend
        self.state = backend.state
        self.lock = backend.lock
        self._wakeup = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()

    # -- the thread ----------------------------------------------------------------------------
    def wake(self) -> None:
        self._wakeup.set()
        with self._thread_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ecs-scheduler", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while self.backend.is_current():
            try:
                busy = self.reconcile()
            except Exception:  # our bug: say so in the cloud's log, keep scheduling
                traceback.print_exc(file=sys.stderr)
                busy = True
            self._wakeup.wait(BUSY_INTERVAL_S if busy else IDLE_INTERVAL_S)
            self._wakeup.clear()

    # -- one pass --------------------------------------------------------------------------------
    def reconcile(self) -> bool:
        """One pass over every cluster; returns True while something is still moving."""
        actions, busy = [], False
        with self.lock:
            if not self.backend.is_current():
                return False
            now = self.backend.clock()
            for region in self.backend.regions():
                for cluster in list(region.clusters.values()):
                    for service in list(cluster.services.values()):
                        busy |= self._schedule(service, now)
                    for task in list(cluster.tasks.values()):
                        action = self._advance(task, now)
                        if action is not None:
                            actions.append(action)
                        busy |= task.last_status != "STOPPED"
        for action in actions:
            action()
        return busy or bool(actions)

    # -- a task's lifecycle (under the lock) ---------------------------------------------------
    def _advance(self, task: m.Task, now: float):
        status = task.last_status
        stopping = task.desired_status == "STOPPED"
        if status == "PROVISIONING":
            task.set_status("DEPROVISIONING" if stopping else "PENDING")
            if not stopping:
                task.pull_started_at = now
        elif status == "PENDING":
            if stopping:
                task.set_status("DEPROVISIONING")
            else:
                return lambda: self._launch(task)
        elif status == "ACTIVATING":
            if stopping:
                task.set_status("DEACTIVATING")
            elif self._all_running(task):
                task.set_status("RUNNING")
                task.started_at = task.connectivity_at = now
                for container in task.containers:
                    if not container.exited:
                        container.last_status = "RUNNING"
                return self._reachable(task, register=True)
        elif status == "RUNNING":
            if stopping:
                task.set_status("DEACTIVATING")
                return self._reachable(task, register=False)
        elif status == "DEACTIVATING":
            task.set_status("STOPPING")
            if not task.stop_issued:
                task.stop_issued = True
                return lambda: self._stop_containers(task)
        elif status == "STOPPING":
            self._notice_exits(task)
            if all(c.exited or not c.started for c in task.containers):
                task.set_status("DEPROVISIONING")
                task.execution_stopped_at = now
        elif status == "DEPROVISIONING":
            self._finish(task, now)
        return None

    def _reachable(self, task: m.Task, register: bool):
        """From RUNNING until it starts stopping, a task of a service is an instance in its Cloud Map
        services and a target of its load balancers' target groups. Returns the action (run outside
        the lock), or None."""
        actions = [a for a in (self._discovery(task, register), self._load_balancing(task, register)) if a]
        if not actions:
            return None
        return lambda: [action() for action in actions]

    def _load_balancing(self, task: m.Task, register: bool):
        """The service's loadBalancers: the task's address and containerPort as an `ip` target of each
        target group (labkit/cloud/aws/elbv2), as ECS registers a Fargate task."""
        service = task.service
        balancers = list(service.load_balancers) if service is not None else []
        if not balancers or not task.private_address:
            return None
        state, account, region, address = self.state, task.account, task.region, task.private_address
        targets = [(b["targetGroupArn"], int(b["containerPort"])) for b in balancers
                   if b.get("targetGroupArn") and b.get("containerPort")]

        def act():
            from labkit.cloud.aws import elbv2  # moto's ELBv2 and our data plane: only when a service uses one

            for group, port in targets:
                change = elbv2.register_targets if register else elbv2.deregister_targets
                try:
                    change(state, account, region, group, [(address, port)])
                except Exception:  # the target group was deleted meanwhile: ECS carries on, as it does
                    traceback.print_exc(file=sys.stderr)
        return act

    def _discovery(self, task: m.Task, register: bool):
        """Service Connect: the task as an instance of its deployment's Cloud Map services (cloudmap.py)."""
        resources = list(task.deployment.service_connect_resources) if task.deployment is not None else []
        if not resources or not task.private_address:
            return None
        account, region, task_id, address = task.account, task.region, task.id, task.private_address
        attributes = {"AWS_INSTANCE_IPV4": address, "AVAILABILITY_ZONE": f"{region}a", "REGION": region,
                      "ECS_CLUSTER_NAME": task.cluster.name, "ECS_SERVICE_NAME": task.service.name,
                      "ECS_TASK_DEFINITION_FAMILY": task.task_definition.family, "AWS_INIT_HEALTH_STATUS": "HEALTHY"}

        def act():
            for resource in resources:
                if register:
                    cloudmap.register(account, region, resource["serviceId"], task_id,
                                      dict(attributes, AWS_INSTANCE_PORT=str(resource["port"])))
                else:
                    cloudmap.deregister(account, region, resource["serviceId"], task_id)
        return act

    def _all_running(self, task: m.Task) -> bool:
        runtime = self.state.runtime
        for container in task.containers:
            if container.exited:
                continue
            handle = runtime.get(container.runtime_name) if runtime is not None else None
            if handle is None or handle.state != "running":
                return False
        return True

    def _notice_exits(self, task: m.Task) -> None:
        """A container the runtime no longer runs counts as exited, even if its callback was lost."""
        runtime = self.state.runtime
        for container in task.containers:
            if container.started and not container.exited:
                handle = runtime.get(container.runtime_name) if runtime is not None else None
                if handle is None or handle.state == "exited":
                    container.exited = True
                    container.last_status = "STOPPED"
                    if handle is not None and container.exit_code is None:
                        container.exit_code = handle.exit_code

    def _finish(self, task: m.Task, now: float) -> None:
        task.set_status("STOPPED")
        task.stopped_at = now
        task.execution_stopped_at = task.execution_stopped_at or now
        for container in task.containers:
            container.last_status = "STOPPED"
        service, deployment = task.service, task.deployment
        if service is not None and task.stop_code in ("TaskFailedToStart", "EssentialContainerExited") \
                and task.started_at is None:
            self._start_failed(service, deployment, now)

    def _fail(self, task: m.Task, reason: str, container: m.TaskContainer | None = None) -> None:
        """The task cannot start: ECS stops it with TaskFailedToStart and the reason."""
        now = self.backend.clock()
        task.failed_to_start = True
        task.request_stop("TaskFailedToStart", reason, now)
        task.pull_stopped_at = task.pull_stopped_at or now
        for each in task.containers:
            if not each.started:
                each.exited = True
                each.last_status = "STOPPED"
        if container is not None:
            container.reason = reason
        task.set_status("DEACTIVATING" if any(c.started and not c.exited for c in task.containers)
                        else "DEPROVISIONING")

    # -- runtime calls (outside the lock) --------------------------------------------------------
    def _launch(self, task: m.Task) -> None:
        """Pull (resolve) every image, set up awslogs, then start the containers."""
        with self.lock:
            if task.last_status != "PENDING" or task.desired_status == "STOPPED":
                return
            containers = list(task.containers)
            account, region, task_id = task.account, task.region, task.id
        resolved, destinations = {}, {}
        for container in containers:
            try:
                resolved[container.name] = images.resolve(self.state, container.image)
            except images.PullError as exc:
                with self.lock:
                    self._fail(task, str(exc), container)
                return
        for container in containers:
            log = container.definition.get("logConfiguration") or {}
            if log.get("logDriver") == "awslogs":
                try:
                    destinations[container.name] = awslogs.prepare(account, region, log.get("options") or {},
                                                                   container.name, task_id)
                except awslogs.LogSetupError as exc:
                    with self.lock:
                        self._fail(task, str(exc), container)
                    return
        runtime = self.state.runtime
        with self.lock:
            if runtime is None:
                self._fail(task, NO_RUNTIME)
                return
            if task.desired_status == "STOPPED" or not self.backend.is_current():
                self._fail(task, task.stopped_reason or "Task stopped")
                return
            task.pull_stopped_at = self.backend.clock()
            for container in containers:
                container.image_digest = resolved[container.name].digest
        for container in containers:
            spec = self._spec(task, container, resolved[container.name], destinations.get(container.name))
            try:
                handle = runtime.start(spec)
            except RuntimeLimit:
                with self.lock:
                    self._fail(task, QUOTA_REACHED, container)
                self._stop_containers(task)
                return
            except Exception as exc:  # the runtime could not even start it
                with self.lock:
                    self._fail(task, f"CannotStartContainerError: {exc}", container)
                self._stop_containers(task)
                return
            with self.lock:
                container.started = True
                container.runtime_id = f"{task_id}-{handle.pid or 0}"
                container.address = handle.address
                container.bindings = [{"bindIP": handle.address, "containerPort": port,
                                       "hostPort": handle.ports.get(port, port), "protocol": protocol}
                                      for port, protocol in _ports(container.definition)]
                task.private_address = task.private_address or handle.address
        with self.lock:
            if task.last_status == "PENDING":
                task.set_status("ACTIVATING")

    def _spec(self, task: m.Task, container: m.TaskContainer, image, destination) -> ContainerSpec:
        definition = container.definition
        environment = {"AWS_EXECUTION_ENV": "AWS_ECS_FARGATE", "AWS_REGION": task.region,
                       "AWS_DEFAULT_REGION": task.region}
        environment.update({e["name"]: e.get("value", "") for e in definition.get("environment") or []})
        labels = {"com.amazonaws.ecs.cluster": task.cluster.arn, "com.amazonaws.ecs.task-arn": task.arn,
                  "com.amazonaws.ecs.container-name": container.name,
                  "com.amazonaws.ecs.task-definition-family": task.task_definition.family,
                  "com.amazonaws.ecs.task-definition-version": str(task.task_definition.revision)}
        labels.update(definition.get("dockerLabels") or {})

        def on_log(_handle, _stream, timestamp_ms, line):
            if destination is not None:
                destination.put(timestamp_ms, line)

        def on_exit(_handle, exit_code, reason):
            self._exited(task, container, exit_code, reason)

        return ContainerSpec(name=container.runtime_name, image=image, command=definition.get("command"),
                             entrypoint=definition.get("entryPoint"), environment=environment,
                             working_dir=definition.get("workingDirectory"), user=definition.get("user"),
                             ports=[port for port, _ in _ports(definition)], on_log=on_log, on_exit=on_exit,
                             labels=labels)

    def _exited(self, task: m.Task, container: m.TaskContainer, exit_code, reason: str) -> None:
        """The runtime's on_exit (on its thread): an essential container that exits stops the task."""
        with self.lock:
            if not self.backend.is_current():
                return
            container.exited = True
            container.last_status = "STOPPED"
            container.exit_code = exit_code
            if exit_code is None and reason:
                container.reason = reason
            if task.desired_status == "RUNNING" and container.essential:
                now = self.backend.clock()
                if exit_code is None and task.started_at is None:
                    task.request_stop("TaskFailedToStart", f"CannotStartContainerError: {reason}", now)
                else:
                    task.request_stop("EssentialContainerExited", "Essential container in task exited", now)
        self.wake()

    def _stop_containers(self, task: m.Task) -> None:
        runtime = self.state.runtime
        with self.lock:
            running = [c for c in task.containers if c.started and not c.exited]
            timeouts = {c.name: c.definition.get("stopTimeout") or DEFAULT_STOP_TIMEOUT_S for c in running}
            reason = task.stopped_reason or "stopped"
        for container in running:
            threading.Thread(target=self._stop_one, args=(runtime, container, timeouts[container.name], reason),
                             name="ecs-stop", daemon=True).start()

    def _stop_one(self, runtime, container: m.TaskContainer, timeout: float, reason: str) -> None:
        try:
            runtime.stop(container.runtime_name, timeout=timeout, reason=reason)
        except Exception:  # already gone: the next pass notices it
            traceback.print_exc(file=sys.stderr)
        self.wake()

    # -- the service scheduler (under the lock) ------------------------------------------------
    def _schedule(self, service: m.Service, now: float) -> bool:
        if service.status == "INACTIVE":
            return False
        tasks = service.tasks()
        if service.status == "DRAINING":
            for task in tasks:
                if task.desired_status == "RUNNING":
                    task.request_stop("ServiceSchedulerInitiated", "Service is being deleted.", now)
            if all(t.last_status == "STOPPED" for t in tasks):
                service.status = "INACTIVE"
                for deployment in service.deployments:
                    deployment.status = "INACTIVE"
                return False
            return True
        primary = service.primary
        desired = service.desired_count
        live = [t for t in tasks if t.desired_status == "RUNNING"]
        primary_live = [t for t in live if t.deployment is primary]
        old_live = [t for t in live if t.deployment is not primary]
        config = service.deployment_configuration
        max_total = m.percent_of(desired, config.get("maximumPercent", 200), up=False)
        min_healthy = m.percent_of(desired, config.get("minimumHealthyPercent", 100), up=True)

        if service.launch_type in ("EC2", "EXTERNAL", "MANAGED_INSTANCES"):
            if desired and not service.steady:
                self._event(service, f"(service {service.name}) was unable to place a task because no container "
                                     f"instance met all of its requirements. Reason: {m.NO_CONTAINER_INSTANCES} For "
                                     f"more information, see the Troubleshooting section of the Amazon ECS "
                                     f"Developer Guide.")
                service.steady = True  # said once; Known gap: no EC2 container instances at all
            return False

        stopped = []
        if len(primary_live) > desired:  # scale in: pending tasks first, then the newest
            surplus = sorted(primary_live, key=lambda t: (t.last_status == "RUNNING", t.created_at), )
            for task in surplus[:len(primary_live) - desired]:
                stopped.append(task)
        running_now = sum(1 for t in live if t.last_status == "RUNNING")
        can_stop = running_now - min_healthy
        for task in sorted(old_live, key=lambda t: (t.last_status == "RUNNING", t.created_at)):
            if task.last_status != "RUNNING":
                stopped.append(task)
            elif can_stop > 0:
                stopped.append(task)
                can_stop -= 1
        for task in stopped:
            reason = f"Scaling activity initiated by (deployment {task.deployment.id})"
            task.request_stop("ServiceSchedulerInitiated", reason, now)
        if stopped:
            self._event(service, f"(service {service.name}) has stopped {len(stopped)} running tasks: "
                                 + " ".join(f"(task {t.id})" for t in stopped) + ".")
            live = [t for t in live if t not in stopped]
            primary_live = [t for t in primary_live if t not in stopped]

        need = desired - len(primary_live)
        room = max(max_total, desired if not old_live else max_total) - len(live)
        started = []
        if need > 0 and room > 0 and now >= service.next_start_at:
            placed = [t.capacity_provider for t in primary_live]
            for _ in range(min(need, room)):
                provider = (m.pick_provider(primary.capacity_provider_strategy, placed)
                            if primary.capacity_provider_strategy else None)
                placed.append(provider)
                started.append(self.backend.new_task(
                    service.cluster, primary.task_definition, launch_type="FARGATE", capacity_provider=provider,
                    platform_version=primary.platform_version, group=f"service:{service.name}",
                    started_by=primary.id, network_configuration=primary.network_configuration,
                    enable_execute_command=service.enable_execute_command, service=service, deployment=primary,
                    tags=service.tags if service.propagate_tags == "SERVICE" else None))
            self._event(service, f"(service {service.name}) has started {len(started)} tasks: "
                                 + " ".join(f"(task {t.id})" for t in started) + ".")

        # deployments with no task left are done with
        for deployment in list(service.deployments[1:]):
            if not any(t.deployment is deployment and t.last_status != "STOPPED" for t in tasks):
                deployment.status = "INACTIVE"
                service.deployments.remove(deployment)

        settled = (len(service.deployments) == 1 and not started and not stopped
                   and sum(1 for t in primary_live if t.last_status == "RUNNING") == desired
                   and len(primary_live) == desired)
        if settled and primary.rollout_state == "IN_PROGRESS":
            primary.rollout_state = "COMPLETED"
            primary.rollout_state_reason = f"ECS deployment {primary.id} completed."
            primary.updated_at = now
            self._event(service, f"(service {service.name}) (deployment {primary.id}) deployment completed.")
        if settled and not service.steady:
            service.steady = True
            self._event(service, f"(service {service.name}) has reached a steady state.")
        elif not settled:
            service.steady = False
        return not settled or now < service.next_start_at

    def _start_failed(self, service: m.Service, deployment: m.Deployment | None, now: float) -> None:
        """A task of the service stopped before it ever ran: count it, back off the next start."""
        service.start_failures += 1
        if deployment is not None:
            deployment.failed_tasks += 1
        if service.start_failures > 2:
            service.next_start_at = now + min(30.0, 2.0 ** (service.start_failures - 2))
        if service.start_failures == START_IMPAIRED_AFTER:
            self._event(service, f"(service {service.name}) is unable to consistently start tasks successfully. "
                                 f"For more information, see the Troubleshooting section of the Amazon ECS "
                                 f"Developer Guide.")
        breaker = service.deployment_configuration.get("deploymentCircuitBreaker") or {}
        if deployment is not None and deployment is service.primary and breaker.get("enable") \
                and deployment.rollout_state == "IN_PROGRESS":
            threshold = max(3, min(200, -(-service.desired_count // 2)))
            if deployment.failed_tasks >= threshold:
                deployment.rollout_state = "FAILED"
                deployment.rollout_state_reason = "ECS deployment circuit breaker: tasks failed to start."
                self._event(service, f"(service {service.name}) (deployment {deployment.id}) deployment failed: "
                                     f"tasks failed to start.")
                if breaker.get("rollback") and len(service.deployments) > 1:
                    self._roll_back(service, now)

    def _roll_back(self, service: m.Service, now: float) -> None:
        previous = service.deployments[1]
        service.task_definition = previous.task_definition
        rollback = self.backend._new_deployment(service)
        for deployment in service.deployments:
            deployment.status = "ACTIVE"
        service.deployments.insert(0, rollback)
        service.start_failures, service.next_start_at, service.steady = 0, 0.0, False
        self._event(service, f"(service {service.name}) rolling back to deployment {previous.id}.")

    def _event(self, service: m.Service, message: str) -> None:
        service.events.insert(0, {"id": self.backend.new_uuid(), "createdAt": self.backend.clock(),
                                  "message": message})
        del service.events[m.MAX_EVENTS:]


def _ports(definition: dict) -> list[tuple[int, str]]:
    return [(mapping["containerPort"], mapping.get("protocol", "tcp"))
            for mapping in definition.get("portMappings") or [] if mapping.get("containerPort") is not None]

