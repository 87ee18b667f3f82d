using DePin.Api.V1Alpha1;
using DePin.Operator.Deployments;
using k8s.Models;

namespace DePin.Operator.Tests;

/// <summary>The spec checks only the operator makes, each naming the field to change.</summary>
public sealed class DeploymentValidationTests
{
    [Fact]
    public void AValidSpec_HasNoProblem()
    {
        Assert.Null(DeploymentValidation.Check(Spec()));
        var (price, budget, problem) = DeploymentValidation.Amounts(Spec(), 6);
        Assert.Null(problem);
        Assert.Equal(50_000, (long)price);
        Assert.Null(budget);
    }

    [Fact]
    public void TheCrdCelRules_AreCheckedByTheOperatorToo()
    {
        var spec = Spec();
        spec.Bidding.AutoTopUp = true;
        Assert.StartsWith("spec.bidding.autoTopUp", DeploymentValidation.Check(spec)!.Message, StringComparison.Ordinal);

        spec = Spec();
        spec.Sla = new SlaSpec { Probe = new SlaProbe { HttpGet = new HttpGetProbe { Port = 80 }, TcpSocket = new TcpSocketProbe { Port = 80 } } };
        Assert.StartsWith("spec.sla.probe: exactly one", DeploymentValidation.Check(spec)!.Message, StringComparison.Ordinal);

        spec = Spec();
        spec.Fallback = new FallbackSpec { Enabled = false, Failback = new FailbackSpec { Enabled = true } };
        Assert.StartsWith("spec.fallback.failback.enabled", DeploymentValidation.Check(spec)!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SecretsAnywhere_AreRefusedUnlessAllowed()
    {
        var spec = Spec();
        spec.Template.Spec.Containers[0].EnvFrom = [new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = "api" } }];
        Assert.Equal(("SecretsNotAllowed", "spec.template.spec.containers[0].envFrom[0].secretRef"), Problem(spec));
        spec.Placement.AllowSecrets = true;
        Assert.Null(DeploymentValidation.Check(spec));

        spec = Spec();
        spec.Template.Spec.Volumes = [new V1Volume { Name = "creds", Secret = new V1SecretVolumeSource { SecretName = "api" } }];
        Assert.Equal(("SecretsNotAllowed", "spec.template.spec.volumes[0] (creds)"), Problem(spec));
        spec.Placement.AllowSecrets = true;
        Assert.Equal(("UnsupportedVolume", "spec.template.spec.volumes[0] (creds)"), Problem(spec));

        spec = Spec();
        spec.Template.Spec.ImagePullSecrets = [new V1LocalObjectReference { Name = "registry" }];
        Assert.Equal(("SecretsNotAllowed", "spec.template.spec.imagePullSecrets"), Problem(spec));
    }

    [Fact]
    public void WhatProvidersCannotRun_IsNamed()
    {
        var spec = Spec();
        spec.Template.Spec.InitContainers = [new V1Container { Name = "init", Image = "x" }];
        Assert.Equal(("UnsupportedField", "spec.template.spec.initContainers"), Problem(spec));

        spec = Spec();
        spec.Template.Spec.Containers[0].Env = [new V1EnvVar { Name = "X", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "spec.nodeName.bogus" } } }];
        Assert.Equal(("UnsupportedField", "spec.template.spec.containers[0].env[0] (X).valueFrom.fieldRef.fieldPath"), Problem(spec));

        spec = Spec();
        spec.Template.Spec.Volumes = [new V1Volume { Name = "token", Projected = new V1ProjectedVolumeSource { Sources = [new V1VolumeProjection { ServiceAccountToken = new V1ServiceAccountTokenProjection { Path = "t" } }] } }];
        Assert.Equal(("UnsupportedVolume", "spec.template.spec.volumes[0] (token)"), Problem(spec));
    }

    [Fact]
    public void ProbesAProviderCannotRun_AreNamed()
    {
        var spec = Spec();
        spec.Template.Spec.Containers[0].Ports = [new V1ContainerPort { ContainerPort = 8080, Name = "http" }];
        spec.Template.Spec.Containers[0].ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Port = "http", Path = "/healthz" } };
        spec.Template.Spec.Containers[0].LivenessProbe = new V1Probe { TcpSocket = new V1TCPSocketAction { Port = 8080 } };
        spec.Template.Spec.Containers[0].StartupProbe = new V1Probe { Exec = new V1ExecAction { Command = ["true"] } };
        Assert.Null(DeploymentValidation.Check(spec));

        spec.Template.Spec.Containers[0].LivenessProbe = new V1Probe { Grpc = new V1GRPCAction { Port = 8080 } };
        Assert.Equal(("UnsupportedField", "spec.template.spec.containers[0].livenessProbe.grpc"), Problem(spec));

        spec.Template.Spec.Containers[0].LivenessProbe = new V1Probe { TcpSocket = new V1TCPSocketAction { Port = 9090 } };
        Assert.Equal(("UnsupportedField", "spec.template.spec.containers[0].livenessProbe.tcpSocket.port"), Problem(spec));

        spec.Template.Spec.Containers[0].LivenessProbe = new V1Probe { TcpSocket = new V1TCPSocketAction { Port = 8080 }, TerminationGracePeriodSeconds = 601 };
        Assert.Equal(("UnsupportedField", "spec.template.spec.containers[0].livenessProbe.terminationGracePeriodSeconds"), Problem(spec));

        spec.Template.Spec.Containers[0].LivenessProbe = new V1Probe { TcpSocket = new V1TCPSocketAction { Port = 8080 }, TimeoutSeconds = 3601 };
        Assert.Equal(("UnsupportedField", "spec.template.spec.containers[0].livenessProbe.timeoutSeconds"), Problem(spec));

        spec.Template.Spec.Containers[0].LivenessProbe = new V1Probe { TcpSocket = new V1TCPSocketAction { Port = 8080 }, FailureThreshold = 10_001 };
        Assert.Equal(("UnsupportedField", "spec.template.spec.containers[0].livenessProbe.failureThreshold"), Problem(spec));

        spec.Template.Spec.Containers[0].LivenessProbe = null;
        spec.Template.Spec.Containers[0].ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Port = "admin" } };
        Assert.Equal(("UnsupportedField", "spec.template.spec.containers[0].readinessProbe.httpGet.port"), Problem(spec));

        spec.Template.Spec.Containers[0].ReadinessProbe = null;
        spec.Template.Spec.TerminationGracePeriodSeconds = 3600;
        Assert.Equal(("UnsupportedField", "spec.template.spec.terminationGracePeriodSeconds"), Problem(spec));
    }

    [Theory]
    [InlineData("0.0000001", null, "spec.bidding.maxPricePerHour")]
    [InlineData("0.05", "0.1234567", "spec.bidding.budget.maxSpendPerDay")]
    public void AmountsFinerThanTheToken_AreRefused(string price, string? budget, string field)
    {
        var spec = Spec();
        spec.Bidding.MaxPricePerHour = price;
        spec.Bidding.Budget = budget is null ? null : new BudgetSpec { MaxSpendPerDay = budget };
        var problem = DeploymentValidation.Amounts(spec, 6).Problem!;
        Assert.Equal("InvalidAmount", problem.Reason);
        Assert.StartsWith(field, problem.Message, StringComparison.Ordinal);
    }

    private static (string Reason, string Field) Problem(DePinDeploymentSpec spec)
    {
        var problem = DeploymentValidation.Check(spec)!;
        return (problem.Reason, problem.Message.Split(':')[0]);
    }

    private static DePinDeploymentSpec Spec() => new()
    {
        Replicas = 1,
        MarketplaceRef = new MarketplaceReference { Name = "fleet" },
        Template = new V1PodTemplateSpec { Spec = new V1PodSpec { Containers = [new V1Container { Name = "main", Image = "app" }] } },
        Bidding = new BiddingSpec { MaxPricePerHour = "0.05" },
    };
}
