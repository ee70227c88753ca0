"""Amazon ECS on Fargate, the control plane (lesson 03): clusters, task definitions, services, tasks,
ECS Exec. moto's ECS is not faithful enough (../shared/notes/verified-facts.md), so this project
serves it.

    models.py     state and rules (`backend(state)`), per account and region
    taskdefs.py   RegisterTaskDefinition's validation (Fargate's cpu/memory table, roles, awsvpc)
    scheduler.py  the task lifecycle and the service scheduler, driven by the runtime's callbacks
    images.py     image URI -> its files (../ecr_images.py), or CannotPullContainerError as ECS words it
    awslogs.py    the awslogs log driver: container output into CloudWatch Logs (moto, in process)
    cloudmap.py   Service Connect in Cloud Map: namespaces, services, RUNNING tasks as instances (moto)
    exec_sessions.py  ECS Exec's sessions and their path /_labkit/ecs-exec/<session> (`labkit ecs exec`)
    control.py    /_labkit/ecs/interrupt-spot: a FARGATE_SPOT interruption on demand (`labkit ecs interrupt`)
    api.py        the AWS JSON 1.1 protocol (X-Amz-Target AmazonEC2ContainerServiceV20141113.*)
    errors.py     ECS's error codes and messages
"""
