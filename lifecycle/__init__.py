"""Database lifecycle for EscalaFin: Prisma-compatible migrations, the conditional seed,
backups/restore, and the Pulumi dynamic providers that drive them.

Modules run both on the machine running `pulumi` (direct mode, providers) and inside the
ops image (in-network mode), so nothing here imports Pulumi or Docker at module level
except the modules that only run beside `pulumi`: `providers`, `dynamic_inputs`,
`health_gate` and `image_history` (dynamic providers) and `jobs`, `docker_host`.
"""
