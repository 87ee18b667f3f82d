using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using DePin.LocalKube.Storage;

namespace DePin.LocalKube.Simulation;

/// <summary>Settings of the simulated cloud nodes.</summary>
public sealed class CloudNodeOptions
{
    /// <summary>Number of nodes, named <c>cloud-0</c>, <c>cloud-1</c>, ... Default 0.</summary>
    public int Count { get; init; }

    /// <summary>Time from binding a pod to reporting it Running and Ready. Default 500 ms.</summary>
    public TimeSpan StartDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Allocatable CPU of each node. Default 8.</summary>
    public string Cpu { get; init; } = "8";

    /// <summary>Allocatable memory of each node. Default 32Gi.</summary>
    public string Memory { get; init; } = "32Gi";

    /// <summary>Most pods per node. Default 110.</summary>
    public int Pods { get; init; } = 110;

    /// <summary>Value of <c>topology.kubernetes.io/region</c>. Default <c>local-1</c>.</summary>
    public string Region { get; init; } = "local-1";

    /// <summary>Value of <c>node.kubernetes.io/instance-type</c>. Default <c>sim.large</c>.</summary>
    public string InstanceType { get; init; } = "sim.large";
}

/// <summary>
/// Simulated cloud nodes, in the manner of kwok: Ready nodes with capacity and labels, a scheduler that
/// binds unbound pods to a fitting simulated node (node selector, required node affinity, taints and
/// tolerations, requested resources against what is left), and a kubelet that reports bound pods Running
/// and Ready after a delay and finishes their graceful deletion. Pods bound to other nodes are left to
/// whatever kubelet owns those nodes.
/// </summary>
public sealed class CloudNodes : IAsyncDisposable
{
    /// <summary>Label on every simulated node.</summary>
    public const string SimulatedLabel = "node.localkube.dev/simulated";

    private readonly ObjectStore _store;
    private readonly TimeProvider _time;
    private readonly CloudNodeOptions _options;
    private readonly ResourceType _pods;
    private readonly ResourceType _nodes;
    private readonly ResourceType _leases;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<string> _work = Channel.CreateUnbounded<string>();
    private readonly HashSet<string> _pending = [];
    private readonly HashSet<string> _starting = [];
    private static readonly string[] ReadyConditions = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"];
    private readonly Lock _lock = new();
    private Task _loop = Task.CompletedTask;
    private Task _watchLoop = Task.CompletedTask;
    private Task _heartbeat = Task.CompletedTask;
    private int _podIps;

    /// <summary>Creates the simulation; call <see cref="Start"/>.</summary>
    /// <param name="store">The objects.</param>
    /// <param name="time">The clock.</param>
    /// <param name="options">Settings.</param>
    public CloudNodes(ObjectStore store, TimeProvider time, CloudNodeOptions options)
    {
        _store = store;
        _time = time;
        _options = options;
        _pods = store.Registry.Find("", "v1", "pods")!;
        _nodes = store.Registry.Find("", "v1", "nodes")!;
        _leases = store.Registry.Find("coordination.k8s.io", "v1", "leases")!;
    }

    /// <summary>Creates the nodes and starts scheduling and running pods.</summary>
    public void Start()
    {
        for (var i = 0; i < _options.Count; i++)
        {
            var name = $"cloud-{i}";
            if (_store.TryGet(_nodes, "", name) is null)
            {
                _store.Create(_nodes, "", Node(name));
                _store.Update(_nodes, "", name, WithStatus(_store.Get(_nodes, "", name).Copy()), statusOnly: true);
                _store.Create(_leases, "kube-node-lease", NodeLease(name));
            }
        }

        var watcher = _store.Watch(_pods, null, LabelSelector.Everything, FieldSelector.Everything, null);
        _watchLoop = Task.Run(async () =>
        {
            using (watcher)
            {
                await foreach (var item in watcher.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
                {
                    var pod = JsonNode.Parse(item.Json)!;
                    var key = $"{(string?)pod["metadata"]!["namespace"]}/{(string?)pod["metadata"]!["name"]}";
                    await _work.Writer.WriteAsync(item.Type == "DELETED" ? "*retry" : key, _stop.Token).ConfigureAwait(false);
                }
            }
        });
        _loop = Task.Run(ProcessAsync);
        _heartbeat = Task.Run(HeartbeatAsync);
    }

    /// <summary>Stops the simulation; nodes and pods stay as they are.</summary>
    /// <returns>A task that completes when the loops have ended.</returns>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var task in new[] { _loop, _watchLoop, _heartbeat })
        {
            try
            {
                await task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopping.
            }
        }

        _stop.Dispose();
    }

    private async Task ProcessAsync()
    {
        await foreach (var key in _work.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
        {
            try
            {
                if (key == "*retry")
                {
                    // Capacity was freed: pods that did not fit may fit now.
                    List<string> pending;
                    lock (_lock)
                    {
                        pending = [.. _pending];
                    }

                    foreach (var podKey in pending)
                    {
                        Reconcile(podKey);
                    }
                }
                else
                {
                    Reconcile(key);
                }
            }
            catch (ApiException e) when (e.Code is 404 or 409)
            {
                // The pod changed or went away meanwhile; its next event brings it back here.
            }
        }
    }

    private void Reconcile(string key)
    {
        var ns = key[..key.IndexOf('/', StringComparison.Ordinal)];
        var name = key[(key.IndexOf('/', StringComparison.Ordinal) + 1)..];
        var stored = _store.TryGet(_pods, ns, name);
        if (stored is null)
        {
            lock (_lock)
            {
                _pending.Remove(key);
            }

            return;
        }

        var pod = stored.Node;
        var nodeName = (string?)pod["spec"]?["nodeName"];
        if (string.IsNullOrEmpty(nodeName))
        {
            var scheduler = (string?)pod["spec"]?["schedulerName"];
            if (scheduler is null or "default-scheduler" && !stored.Terminating)
            {
                Schedule(stored, key);
            }

            return;
        }

        if (!IsSimulated(nodeName))
        {
            return;
        }

        if (stored.Terminating)
        {
            // The simulated kubelet has stopped the containers at once.
            _store.Delete(_pods, ns, name, gracePeriodSeconds: 0);
            return;
        }

        if ((string?)pod["status"]?["phase"] is not ("Running" or "Succeeded" or "Failed"))
        {
            lock (_lock)
            {
                if (!_starting.Add(stored.Uid))
                {
                    return;
                }
            }

            _ = StartLaterAsync(ns, name, stored.Uid, nodeName);
        }
    }

    private void Schedule(StoredObject stored, string key)
    {
        var pod = stored.Node;
        var nodes = _store.Snapshot(_nodes).Where(n => IsSimulated(n.Name) && Ready(n.Node) && (bool?)n.Node["spec"]?["unschedulable"] != true).ToList();
        var pods = _store.Snapshot(_pods);
        string? reason = null;
        foreach (var node in nodes.OrderBy(n => Used(pods, n.Name).Cpu).ThenBy(n => n.Name, StringComparer.Ordinal))
        {
            reason = Misfit(pod, node.Node, pods);
            if (reason is null)
            {
                lock (_lock)
                {
                    _pending.Remove(key);
                }

                _store.Patch(_pods, stored.Namespace, stored.Name, p =>
                {
                    if ((string?)p["spec"]?["nodeName"] is { Length: > 0 })
                    {
                        throw new ApiException(409, "Conflict", "already bound");
                    }

                    p["spec"]!.AsObject()["nodeName"] = node.Name;
                    return p;
                });
                SetCondition(stored.Namespace, stored.Name, "PodScheduled", "True", null, null);
                return;
            }
        }

        lock (_lock)
        {
            _pending.Add(key);
        }

        var message = nodes.Count == 0 ? "0/0 nodes are available: no simulated node is Ready." : $"0/{nodes.Count} nodes are available: {reason}.";
        SetCondition(stored.Namespace, stored.Name, "PodScheduled", "False", "Unschedulable", message, phase: "Pending");
    }

    // Why a pod does not fit a node, or null when it does.
    private static string? Misfit(JsonNode pod, JsonNode node, IReadOnlyList<StoredObject> pods)
    {
        var labels = node["metadata"]?["labels"] as JsonObject ?? [];
        if (pod["spec"]?["nodeSelector"] is JsonObject selector
            && selector.Any(s => (string?)labels[s.Key] != (string?)s.Value))
        {
            return "node(s) didn't match Pod's node affinity/selector";
        }

        if (pod["spec"]?["affinity"]?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?["nodeSelectorTerms"] is JsonArray terms
            && terms.Count > 0 && !terms.Any(t => TermMatches(t!, labels, (string)node["metadata"]!["name"]!)))
        {
            return "node(s) didn't match Pod's node affinity/selector";
        }

        var tolerations = pod["spec"]?["tolerations"] as JsonArray ?? [];
        foreach (var taint in node["spec"]?["taints"] as JsonArray ?? [])
        {
            var effect = (string?)taint!["effect"];
            if (effect is "NoSchedule" or "NoExecute" && !tolerations.Any(t => Tolerates(t!, taint)))
            {
                return $"node(s) had untolerated taint {{{(string?)taint["key"]}: {(string?)taint["value"]}}}";
            }
        }

        var nodeName = (string)node["metadata"]!["name"]!;
        var allocatable = node["status"]?["allocatable"];
        var used = Used(pods, nodeName);
        var wanted = Requests(pod);
        if (used.Pods + 1 > Quantity.Parse(allocatable?["pods"]))
        {
            return "Too many pods";
        }

        if (used.Cpu + wanted.Cpu > Quantity.Parse(allocatable?["cpu"]))
        {
            return "Insufficient cpu";
        }

        return used.Memory + wanted.Memory > Quantity.Parse(allocatable?["memory"]) ? "Insufficient memory" : null;
    }

    private static bool TermMatches(JsonNode term, JsonObject labels, string nodeName)
    {
        foreach (var expression in term["matchExpressions"] as JsonArray ?? [])
        {
            if (!Matches(expression!, (string?)labels[(string)expression!["key"]!]))
            {
                return false;
            }
        }

        foreach (var field in term["matchFields"] as JsonArray ?? [])
        {
            if ((string?)field!["key"] == "metadata.name" && !Matches(field, nodeName))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Matches(JsonNode expression, string? value)
    {
        var values = (expression["values"] as JsonArray ?? []).Select(v => (string?)v).ToList();
        return (string?)expression["operator"] switch
        {
            "In" => value is not null && values.Contains(value),
            "NotIn" => value is null || !values.Contains(value),
            "Exists" => value is not null,
            "DoesNotExist" => value is null,
            "Gt" => long.TryParse(value, out var gt) && values.Count == 1 && long.TryParse(values[0], out var gtLimit) && gt > gtLimit,
            "Lt" => long.TryParse(value, out var lt) && values.Count == 1 && long.TryParse(values[0], out var ltLimit) && lt < ltLimit,
            _ => false,
        };
    }

    private static bool Tolerates(JsonNode toleration, JsonNode taint)
    {
        var effect = (string?)toleration["effect"];
        if (!string.IsNullOrEmpty(effect) && effect != (string?)taint["effect"])
        {
            return false;
        }

        var key = (string?)toleration["key"];
        var op = (string?)toleration["operator"] ?? "Equal";
        if (string.IsNullOrEmpty(key))
        {
            return op == "Exists";
        }

        return key == (string?)taint["key"] && (op == "Exists" || (string?)toleration["value"] == ((string?)taint["value"] ?? ""));
    }

    private static (decimal Cpu, decimal Memory, int Pods) Used(IReadOnlyList<StoredObject> pods, string nodeName)
    {
        decimal cpu = 0, memory = 0;
        var count = 0;
        foreach (var pod in pods)
        {
            if ((string?)pod.Node["spec"]?["nodeName"] != nodeName || (string?)pod.Node["status"]?["phase"] is "Succeeded" or "Failed")
            {
                continue;
            }

            var (c, m) = Requests(pod.Node);
            cpu += c;
            memory += m;
            count++;
        }

        return (cpu, memory, count);
    }

    // Requests of all containers; a container with only limits requests its limits, as the API server defaults it.
    private static (decimal Cpu, decimal Memory) Requests(JsonNode pod)
    {
        decimal cpu = 0, memory = 0;
        foreach (var container in pod["spec"]?["containers"] as JsonArray ?? [])
        {
            var resources = container?["resources"];
            cpu += Quantity.Parse(resources?["requests"]?["cpu"] ?? resources?["limits"]?["cpu"]);
            memory += Quantity.Parse(resources?["requests"]?["memory"] ?? resources?["limits"]?["memory"]);
        }

        return (cpu, memory);
    }

    private async Task StartLaterAsync(string ns, string name, string uid, string nodeName)
    {
        try
        {
            await Task.Delay(_options.StartDelay, _time, _stop.Token).ConfigureAwait(false);
            var current = _store.TryGet(_pods, ns, name);
            if (current is null || current.Uid != uid || current.Terminating)
            {
                return;
            }

            var now = Now();
            var ip = Interlocked.Increment(ref _podIps);
            var status = current.Copy()["status"] as JsonObject ?? [];
            status["phase"] = "Running";
            status["hostIP"] = NodeIp(nodeName);
            status["podIP"] = $"10.244.{ip / 250 % 250}.{(ip % 250) + 2}";
            status["podIPs"] = new JsonArray(new JsonObject { ["ip"] = (string?)status["podIP"] });
            status["startTime"] = now;
            status["conditions"] = new JsonArray([.. ReadyConditions
                .Select(type => (JsonNode)new JsonObject { ["type"] = type, ["status"] = "True", ["lastProbeTime"] = null, ["lastTransitionTime"] = now })]);
            status["containerStatuses"] = new JsonArray([.. (current.Node["spec"]?["containers"] as JsonArray ?? []).Select(c => (JsonNode)new JsonObject
            {
                ["name"] = (string?)c!["name"],
                ["image"] = (string?)c["image"],
                ["imageID"] = $"sim://{(string?)c["image"]}",
                ["containerID"] = $"sim://{uid}/{(string?)c["name"]}",
                ["ready"] = true,
                ["started"] = true,
                ["restartCount"] = 0,
                ["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = now } },
            })]);
            _store.Patch(_pods, ns, name, p =>
            {
                p["status"] = status.DeepClone();
                return p;
            }, statusOnly: true);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        catch (ApiException)
        {
            // The pod went away or changed; its next event brings it back.
        }
        finally
        {
            lock (_lock)
            {
                _starting.Remove(uid);
            }
        }
    }

    private void SetCondition(string ns, string name, string type, string status, string? reason, string? message, string? phase = null)
    {
        _store.Patch(_pods, ns, name, p =>
        {
            var podStatus = p["status"] as JsonObject ?? [];
            p["status"] = podStatus;
            if (phase is not null)
            {
                podStatus["phase"] = phase;
            }

            var conditions = podStatus["conditions"] as JsonArray ?? [];
            podStatus["conditions"] = conditions;
            var existing = conditions.FirstOrDefault(c => (string?)c!["type"] == type) as JsonObject;
            if (existing is not null && (string?)existing["status"] == status && (string?)existing["message"] == message)
            {
                return p;
            }

            var condition = new JsonObject { ["type"] = type, ["status"] = status, ["lastProbeTime"] = null, ["lastTransitionTime"] = Now() };
            if (reason is not null)
            {
                condition["reason"] = reason;
                condition["message"] = message;
            }

            if (existing is not null)
            {
                conditions[conditions.IndexOf(existing)] = condition;
            }
            else
            {
                conditions.Add(condition);
            }

            return p;
        }, statusOnly: true);
    }

    // Renews the simulated nodes' Leases and Ready heartbeats, as a kubelet does every 10 seconds.
    private async Task HeartbeatAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(10), _time);
        while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
        {
            for (var i = 0; i < _options.Count; i++)
            {
                var name = $"cloud-{i}";
                try
                {
                    _store.Patch(_leases, "kube-node-lease", name, lease =>
                    {
                        lease["spec"]!.AsObject()["renewTime"] = NowMicro();
                        return lease;
                    });
                }
                catch (ApiException)
                {
                    // Deleted by a test; a simulated node without a Lease is still simulated.
                }
            }
        }
    }

    private JsonObject Node(string name) => new()
    {
        ["metadata"] = new JsonObject
        {
            ["name"] = name,
            ["labels"] = new JsonObject
            {
                ["kubernetes.io/hostname"] = name,
                ["kubernetes.io/os"] = "linux",
                ["kubernetes.io/arch"] = "amd64",
                ["node.kubernetes.io/instance-type"] = _options.InstanceType,
                ["topology.kubernetes.io/region"] = _options.Region,
                ["topology.kubernetes.io/zone"] = $"{_options.Region}a",
                [SimulatedLabel] = "true",
            },
        },
        ["spec"] = new JsonObject { ["providerID"] = $"localkube://{name}" },
    };

    private JsonObject WithStatus(JsonObject node)
    {
        var now = Now();
        var resources = new JsonObject { ["cpu"] = _options.Cpu, ["memory"] = _options.Memory, ["pods"] = _options.Pods.ToString(CultureInfo.InvariantCulture), ["ephemeral-storage"] = "100Gi" };
        node["status"] = new JsonObject
        {
            ["capacity"] = resources.DeepClone(),
            ["allocatable"] = resources,
            ["conditions"] = new JsonArray(
                Condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", now),
                Condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available", now),
                Condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", now),
                Condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", now)),
            ["addresses"] = new JsonArray(
                new JsonObject { ["type"] = "InternalIP", ["address"] = NodeIp((string)node["metadata"]!["name"]!) },
                new JsonObject { ["type"] = "Hostname", ["address"] = (string?)node["metadata"]!["name"] }),
            ["nodeInfo"] = new JsonObject
            {
                ["kubeletVersion"] = "v1.32.0-localkube",
                ["kubeProxyVersion"] = "v1.32.0-localkube",
                ["operatingSystem"] = "linux",
                ["architecture"] = "amd64",
                ["containerRuntimeVersion"] = "simulated://1.0",
                ["osImage"] = "LocalKube simulated node",
                ["kernelVersion"] = "n/a",
                ["machineID"] = "",
                ["systemUUID"] = "",
                ["bootID"] = "",
            },
        };
        return node;
    }

    private static JsonObject Condition(string type, string status, string reason, string message, string now) => new()
    {
        ["type"] = type,
        ["status"] = status,
        ["reason"] = reason,
        ["message"] = message,
        ["lastHeartbeatTime"] = now,
        ["lastTransitionTime"] = now,
    };

    private JsonObject NodeLease(string name) => new()
    {
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "kube-node-lease" },
        ["spec"] = new JsonObject { ["holderIdentity"] = name, ["leaseDurationSeconds"] = 40, ["renewTime"] = NowMicro() },
    };

    private static string NodeIp(string name) => $"10.0.0.{int.Parse(name[(name.LastIndexOf('-') + 1)..], CultureInfo.InvariantCulture) + 10}";

    private bool IsSimulated(string nodeName) =>
        _store.TryGet(_nodes, "", nodeName)?.Node["metadata"]?["labels"]?[SimulatedLabel] is JsonValue v && (string?)v == "true";

    private static bool Ready(JsonNode node) =>
        (node["status"]?["conditions"] as JsonArray ?? []).Any(c => (string?)c!["type"] == "Ready" && (string?)c["status"] == "True");

    private string Now() => Rfc3339.Format(_time.GetUtcNow());

    private string NowMicro() => Rfc3339.FormatMicro(_time.GetUtcNow());
}
