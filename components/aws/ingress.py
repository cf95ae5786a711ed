"""The way in: an Application Load Balancer with HTTPS for appPublicUrl's host.

- HTTPS on 443 with an ACM certificate for the host: either the one given
  (awsCertificateArn), or a new one validated by DNS in the given Route 53 zone, whose
  alias record then points the host at the load balancer. TLS 1.2+ policy with TLS 1.3.
  The ALB adds HSTS to every response.
- HTTP on 80 only redirects to HTTPS (301), so no page is ever served in the clear.
- The target group (ip targets: Fargate tasks) checks healthPath with the configured
  timings and expects 200; tasks are drained for 30 s on deploys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.rules import duration_seconds, fit_name
from components.settings import AwsSettings, Healthcheck

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
HSTS = "max-age=31536000; includeSubDomains"
DRAIN_SECONDS = 30


@dataclass(frozen=True)
class AwsIngressArgs:
    aws: AwsSettings
    name_prefix: str
    vpc_id: pulumi.Input[str]
    public_subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    app_port: int
    health: Healthcheck


class AwsIngress(pulumi.ComponentResource):
    load_balancer: aws.lb.LoadBalancer
    target_group: aws.lb.TargetGroup
    https: aws.lb.Listener
    dns_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: AwsIngressArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:aws:Ingress", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        a, h = args.aws, args.health
        self.load_balancer = aws.lb.LoadBalancer(
            "alb",
            name=fit_name(args.name_prefix, 32),
            load_balancer_type="application",
            internal=False,
            subnets=list(args.public_subnet_ids),
            security_groups=[args.security_group_id],
            drop_invalid_header_fields=True,
            enable_deletion_protection=a.deletion_protection,
            opts=child,
        )
        interval = duration_seconds(h.interval)
        self.target_group = aws.lb.TargetGroup(
            "app",
            name_prefix="app-",
            port=args.app_port,
            protocol="HTTP",
            target_type="ip",
            vpc_id=args.vpc_id,
            deregistration_delay=DRAIN_SECONDS,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                path=h.path,
                protocol="HTTP",
                matcher="200",
                interval=interval,
                timeout=min(duration_seconds(h.timeout), interval - 1),
                healthy_threshold=2,
                unhealthy_threshold=max(2, h.retries),
            ),
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=False),
        )
        certificate_arn = self._certificate(a, child)
        aws.lb.Listener(
            "http",
            load_balancer_arn=self.load_balancer.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port="443", status_code="HTTP_301"
                    ),
                )
            ],
            opts=child,
        )
        self.https = aws.lb.Listener(
            "https",
            load_balancer_arn=self.load_balancer.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=TLS_POLICY,
            certificate_arn=certificate_arn,
            routing_http_response_strict_transport_security_header_value=HSTS,
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="forward", target_group_arn=self.target_group.arn
                )
            ],
            opts=child,
        )
        if a.hosted_zone_id:
            aws.route53.Record(
                "app",
                zone_id=a.hosted_zone_id,
                name=a.public_host,
                type="A",
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=self.load_balancer.dns_name,
                        zone_id=self.load_balancer.zone_id,
                        evaluate_target_health=True,
                    )
                ],
                opts=child,
            )
        self.dns_name = self.load_balancer.dns_name
        self.register_outputs({"dnsName": self.dns_name})

    def _certificate(self, a: AwsSettings, child: pulumi.ResourceOptions) -> pulumi.Input[str]:
        if a.certificate_arn:
            return a.certificate_arn
        assert a.hosted_zone_id, "settings require a zone or a certificate"
        certificate = aws.acm.Certificate(
            "certificate",
            domain_name=a.public_host,
            validation_method="DNS",
            opts=pulumi.ResourceOptions(parent=self, replace_on_changes=["domainName"]),
        )
        option = certificate.domain_validation_options[0]
        record = aws.route53.Record(
            "certificate-validation",
            zone_id=a.hosted_zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=300,
            allow_overwrite=True,
            opts=child,
        )
        validation = aws.acm.CertificateValidation(
            "certificate",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn],
            opts=child,
        )
        return validation.certificate_arn
