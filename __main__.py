"""EscalaFin on a Docker host: `pulumi up --stack dev|prod`.

config ─▶ settings ─▶ EscalaFin: networks · app image · postgres · redis
                                 · migrations → seed · app replicas · ingress · backups
"""

import pulumi

from components.escalafin import EscalaFin, EscalaFinArgs
from components.settings import load

settings = load()
stack = EscalaFin("escalafin", EscalaFinArgs(settings))

pulumi.export("appUrl", stack.app_url)
pulumi.export("healthUrl", stack.health_url)
pulumi.export("monitoring", stack.monitoring)
pulumi.export("backupMonitoring", stack.backup_monitoring)
pulumi.export("imageDigest", stack.image_digest)
pulumi.export("backupBucket", stack.backup_bucket)
pulumi.export("backupAgentContainer", stack.backup_agent_container)
pulumi.export("appContainer", stack.app_container)
pulumi.export("appContainers", stack.app_containers)
pulumi.export("databaseContainer", stack.database_container)
pulumi.export("databaseAdminEndpoint", stack.database_admin_endpoint)
for key, value in stack.generated_secrets.items():
    pulumi.export(key, pulumi.Output.secret(value))
