using DePin.Operator.Deployments;
using k8s.Models;

namespace DePin.Operator.Tests;

/// <summary>What leaves the cluster for a provider: resolved values, and never a Secret unless allowed nor a service-account token.</summary>
public sealed class RemotePodsTests
{
    private static readonly FakeSource Source = new();

    [Fact]
    public async Task ConfigMapsAndTheDownwardApi_AreResolvedToPlainValues_InKubernetesOrder()
    {
        var pod = Pod(new V1Container
        {
            Name = "main",
            Image = "app",
            EnvFrom = [new V1EnvFromSource { ConfigMapRef = new V1ConfigMapEnvSource { Name = "settings" }, Prefix = "CFG_" }],
            Env =
            [
                new V1EnvVar { Name = "CFG_MODE", Value = "overridden" },
                new V1EnvVar { Name = "GREETING", ValueFrom = new V1EnvVarSource { ConfigMapKeyRef = new V1ConfigMapKeySelector { Name = "settings", Key = "greeting" } } },
                new V1EnvVar { Name = "MISSING", ValueFrom = new V1EnvVarSource { ConfigMapKeyRef = new V1ConfigMapKeySelector { Name = "absent", Key = "x", Optional = true } } },
                new V1EnvVar { Name = "NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
                new V1EnvVar { Name = "APP", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.labels['app']" } } },
                new V1EnvVar { Name = "HOST", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "status.hostIP" } } },
                new V1EnvVar { Name = "CPU", ValueFrom = new V1EnvVarSource { ResourceFieldRef = new V1ResourceFieldSelector { Resource = "limits.cpu", Divisor = new ResourceQuantity("1m") } } },
            ],
            Resources = new V1ResourceRequirements { Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("1500m") } },
        });

        var remote = await RemotePods.ConvertAsync(pod, allowSecrets: false, "203.0.113.7", Source, CancellationToken.None);
        var env = remote["spec"]!["containers"]![0]!["env"]!.AsArray().ToDictionary(e => (string)e!["name"]!, e => (string)e!["value"]!);
        Assert.Equal("overridden", env["CFG_MODE"]);
        Assert.Equal("hello", env["CFG_greeting"]);
        Assert.Equal("hello", env["GREETING"]);
        Assert.False(env.ContainsKey("MISSING"));
        Assert.Equal("web-abc", env["NAME"]);
        Assert.Equal("web", env["APP"]);
        Assert.Equal("203.0.113.7", env["HOST"]);
        Assert.Equal("1500", env["CPU"]);
        Assert.All(remote["spec"]!["containers"]![0]!["env"]!.AsArray(), e => Assert.Null(e!["valueFrom"]));
    }

    [Fact]
    public async Task Probes_GoToTheProvider_WithoutAHost_AndGrpcProbesAreRefused()
    {
        var pod = Pod(new V1Container
        {
            Name = "main",
            Image = "app",
            Ports = [new V1ContainerPort { ContainerPort = 8080, Name = "http" }],
            StartupProbe = new V1Probe { TcpSocket = new V1TCPSocketAction { Host = "10.0.0.1", Port = "http" }, PeriodSeconds = 2, FailureThreshold = 30 },
            LivenessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Host = "169.254.169.254", Path = "/healthz", Port = 8080, HttpHeaders = [new V1HTTPHeader { Name = "X-Probe", Value = "1" }] }, TimeoutSeconds = 3 },
            ReadinessProbe = new V1Probe { Exec = new V1ExecAction { Command = ["cat", "/tmp/ready"] }, SuccessThreshold = 2 },
        });

        var container = (await RemotePods.ConvertAsync(pod, allowSecrets: false, "h", Source, CancellationToken.None))["spec"]!["containers"]![0]!;

        Assert.Equal("http", (string)container["startupProbe"]!["tcpSocket"]!["port"]!);
        Assert.Null(container["startupProbe"]!["tcpSocket"]!["host"]);
        Assert.Equal(30, (int)container["startupProbe"]!["failureThreshold"]!);
        Assert.Equal("/healthz", (string)container["livenessProbe"]!["httpGet"]!["path"]!);
        Assert.Equal(8080, (int)container["livenessProbe"]!["httpGet"]!["port"]!);
        Assert.Null(container["livenessProbe"]!["httpGet"]!["host"]);
        Assert.Equal("X-Probe", (string)container["livenessProbe"]!["httpGet"]!["httpHeaders"]![0]!["name"]!);
        Assert.Equal(3, (int)container["livenessProbe"]!["timeoutSeconds"]!);
        Assert.Equal(["cat", "/tmp/ready"], container["readinessProbe"]!["exec"]!["command"]!.AsArray().Select(c => (string)c!));
        Assert.Equal(2, (int)container["readinessProbe"]!["successThreshold"]!);

        pod.Spec.Containers[0].LivenessProbe = new V1Probe { Grpc = new V1GRPCAction { Port = 8080 } };
        var refusal = await Assert.ThrowsAsync<PodConversionException>(() => RemotePods.ConvertAsync(pod, allowSecrets: false, "h", Source, CancellationToken.None));
        Assert.Contains("containers[main].livenessProbe.grpc", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secrets_AreRefusedUnlessAllowed_AndThenSentAsValues()
    {
        var pod = Pod(new V1Container
        {
            Name = "main",
            Image = "app",
            Env = [new V1EnvVar { Name = "TOKEN", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "api", Key = "token" } } }],
        });

        var refusal = await Assert.ThrowsAsync<PodConversionException>(() => RemotePods.ConvertAsync(pod, allowSecrets: false, "h", Source, CancellationToken.None));
        Assert.Contains("placement.allowSecrets", refusal.Message, StringComparison.Ordinal);
        Assert.Equal(0, Source.SecretReads);

        var remote = await RemotePods.ConvertAsync(pod, allowSecrets: true, "h", Source, CancellationToken.None);
        Assert.Equal("s3cret", (string)remote["spec"]!["containers"]![0]!["env"]![0]!["value"]!);

        pod.Spec.Containers[0].Env = null;
        pod.Spec.Containers[0].EnvFrom = [new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = "api" } }];
        await Assert.ThrowsAsync<PodConversionException>(() => RemotePods.ConvertAsync(pod, allowSecrets: false, "h", Source, CancellationToken.None));
    }

    [Fact]
    public async Task ServiceAccountTokens_SchedulingFields_AndPullSecrets_NeverLeave()
    {
        var pod = Pod(new V1Container
        {
            Name = "main",
            Image = "app",
            Command = ["run"],
            VolumeMounts = [new V1VolumeMount { Name = "kube-api-access-x1", MountPath = "/var/run/secrets/kubernetes.io/serviceaccount" }, new V1VolumeMount { Name = "scratch", MountPath = "/tmp/s" }],
        });
        pod.Spec.Volumes =
        [
            new V1Volume { Name = "kube-api-access-x1", Projected = new V1ProjectedVolumeSource { Sources = [new V1VolumeProjection { ServiceAccountToken = new V1ServiceAccountTokenProjection { Path = "token" } }] } },
            new V1Volume { Name = "scratch", EmptyDir = new V1EmptyDirVolumeSource() },
        ];
        pod.Spec.ServiceAccountName = "default";
        pod.Spec.ImagePullSecrets = [new V1LocalObjectReference { Name = "registry" }];
        pod.Spec.NodeSelector = new Dictionary<string, string> { ["zone"] = "a" };

        var remote = await RemotePods.ConvertAsync(pod, allowSecrets: true, "h", Source, CancellationToken.None);
        var text = remote.ToJsonString();
        Assert.DoesNotContain("kube-api-access", text, StringComparison.Ordinal);
        Assert.DoesNotContain("serviceAccount", text, StringComparison.Ordinal);
        Assert.DoesNotContain("registry", text, StringComparison.Ordinal);
        Assert.DoesNotContain("zone", text, StringComparison.Ordinal);
        Assert.Equal("scratch", (string)remote["spec"]!["volumes"]![0]!["name"]!);
        Assert.Equal("scratch", (string)Assert.Single(remote["spec"]!["containers"]![0]!["volumeMounts"]!.AsArray())!["name"]!);
    }

    [Fact]
    public void Names_AreDerived_Bounded_AndValidForTheAgent()
    {
        var longName = new string('d', 250);
        var pod = Names.Pod(longName, "l1", 0, "abc");
        Assert.True(pod.Length <= 253);
        Assert.Equal(pod, Names.Pod(longName, "l1", 0, "abc"));
        Assert.NotEqual(pod, Names.Pod(longName, "l1", 1, "abc"));
        Assert.NotEqual(pod, Names.Pod(longName, "l1", 0, "abd"));
        Assert.Matches("^pod-[0-9a-f]{16}$", Names.RemotePod(pod));
        Assert.Equal("web-1a2b3c", Names.RemotePod("web-1a2b3c"));
        Assert.Equal("web-l7", Names.Lease("web", "7"));
        Assert.Equal("web-l3f2a", Names.Lease("web", "l3f2a"));
        Assert.Equal("depin-fleet-l3f2a", Names.Node("fleet", "l3f2a"));
        Assert.Null(Names.LabelValue(longName));
    }

    private static V1Pod Pod(V1Container container) => new()
    {
        Metadata = new V1ObjectMeta { Name = "web-abc", NamespaceProperty = "default", Uid = "u-1", Labels = new Dictionary<string, string> { ["app"] = "web" } },
        Spec = new V1PodSpec { Containers = [container], NodeName = "depin-fleet-l1" },
    };

    private sealed class FakeSource : IEnvironmentSource
    {
        public int SecretReads { get; private set; }

        public Task<IReadOnlyDictionary<string, string>?> ConfigMapAsync(string ns, string name, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyDictionary<string, string>?>(name == "settings" ? new Dictionary<string, string> { ["greeting"] = "hello", ["MODE"] = "fast" } : null);

        public Task<IReadOnlyDictionary<string, string>?> SecretAsync(string ns, string name, CancellationToken cancellationToken)
        {
            SecretReads++;
            return Task.FromResult<IReadOnlyDictionary<string, string>?>(name == "api" ? new Dictionary<string, string> { ["token"] = "s3cret" } : null);
        }
    }
}
