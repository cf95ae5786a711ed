"""The VPC: two zones, public subnets for the load balancer, private ones for everything else.

The NAT question, answered: **NAT gateway(s) for egress, plus the free S3 gateway endpoint;
no interface endpoints.** The app must reach the internet anyway whenever an integration is
configured (Openpay, SMTP, WhatsApp/Evolution, Sentry all live outside AWS), so private
subnets without a NAT would break the product, not just save money. Interface endpoints
for ECR (api + dkr), Secrets Manager and CloudWatch Logs cost 4 x 2 zones x $0.01/h ≈
$58/month before traffic — more than one NAT gateway (≈ $33/month) — and would still not
carry integration traffic. The expensive bytes of the NAT trap are image layers and
backups: ECR serves layers from S3, and the S3 *gateway* endpoint (no hourly charge) routes
both straight from the private subnets, past the NAT's $0.045/GB processing charge. What
remains on the NAT is small: ECR/Secrets Manager/Logs API calls and the app's own egress.
`awsNatGateways: 2` puts one NAT in each zone so a zone outage cannot cut egress.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.rules import subnet_cidrs

ZONES = 2


@dataclass(frozen=True)
class AwsNetworkArgs:
    name_prefix: str
    vpc_cidr: str
    nat_gateways: int
    region: str


class AwsNetwork(pulumi.ComponentResource):
    vpc: aws.ec2.Vpc
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    private_route_tables: list[aws.ec2.RouteTable]
    s3_endpoint: aws.ec2.VpcEndpoint

    def __init__(
        self, name: str, args: AwsNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:aws:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.name_prefix
        zones = aws.get_availability_zones_output(
            state="available", opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.vpc = aws.ec2.Vpc(
            "vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_hostnames=True,  # RDS/ElastiCache endpoints and awsvpc tasks need both
            enable_dns_support=True,
            tags={"Name": prefix},
            opts=child,
        )
        igw = aws.ec2.InternetGateway("igw", vpc_id=self.vpc.id, tags={"Name": prefix}, opts=child)
        public_cidrs, private_cidrs = subnet_cidrs(args.vpc_cidr)

        public_table = aws.ec2.RouteTable(
            "public",
            vpc_id=self.vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={"Name": f"{prefix}-public"},
            opts=child,
        )
        self.public_subnet_ids = []
        self.private_subnet_ids = []
        self.private_route_tables = []
        nats: list[aws.ec2.NatGateway] = []

        def subnet(tier: str, i: int, cidr: str) -> aws.ec2.Subnet:
            return aws.ec2.Subnet(
                f"{tier}-{i}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone=zones.names.apply(lambda names: names[i]),
                map_public_ip_on_launch=False,  # the ALB and NATs have their own IPs
                tags={"Name": f"{prefix}-{tier}-{i}", "escalafin:tier": tier},
                opts=child,
            )

        for i in range(ZONES):
            public = subnet("public", i, public_cidrs[i])
            aws.ec2.RouteTableAssociation(
                f"public-{i}", subnet_id=public.id, route_table_id=public_table.id, opts=child
            )
            self.public_subnet_ids.append(public.id)
            if i < args.nat_gateways:
                eip = aws.ec2.Eip(
                    f"nat-{i}", domain="vpc", tags={"Name": f"{prefix}-nat-{i}"}, opts=child
                )
                nats.append(
                    aws.ec2.NatGateway(
                        f"nat-{i}",
                        allocation_id=eip.id,
                        subnet_id=public.id,
                        tags={"Name": f"{prefix}-nat-{i}"},
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                    )
                )

        for i in range(ZONES):
            private = subnet("private", i, private_cidrs[i])
            nat = nats[i % len(nats)]
            table = aws.ec2.RouteTable(
                f"private-{i}",
                vpc_id=self.vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags={"Name": f"{prefix}-private-{i}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"private-{i}", subnet_id=private.id, route_table_id=table.id, opts=child
            )
            self.private_subnet_ids.append(private.id)
            self.private_route_tables.append(table)

        # Gateway endpoint: free; ECR image layers and backups bypass the NAT's per-GB charge.
        self.s3_endpoint = aws.ec2.VpcEndpoint(
            "s3",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[t.id for t in self.private_route_tables],
            tags={"Name": f"{prefix}-s3"},
            opts=child,
        )
        self.register_outputs({"vpcId": self.vpc.id, "privateSubnetIds": self.private_subnet_ids})
