using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using DePin.LocalKube.Storage;

namespace DePin.LocalKube.Http;

/// <summary>Serves the Kubernetes REST and watch protocol over the store.</summary>
public sealed class ApiHandler
{
    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly ObjectStore _store;
    private readonly ServerOptions _options;
    private readonly TimeProvider _time;
    private readonly Faults _faults;
    private readonly Security _security;

    /// <summary>Creates the handler.</summary>
    /// <param name="store">The objects.</param>
    /// <param name="options">Server options.</param>
    /// <param name="time">The clock.</param>
    /// <param name="faults">Injected faults.</param>
    /// <param name="security">Authentication and authorization.</param>
    public ApiHandler(ObjectStore store, ServerOptions options, TimeProvider time, Faults faults, Security security)
    {
        _store = store;
        _options = options;
        _time = time;
        _faults = faults;
        _security = security;
    }

    /// <summary>Handles one request.</summary>
    /// <param name="context">The HTTP context.</param>
    /// <returns>A task that completes when the response is written.</returns>
    public async Task HandleAsync(HttpContext context)
    {
        try
        {
            await _faults.BeforeRequestAsync(context).ConfigureAwait(false);
            await DispatchAsync(context).ConfigureAwait(false);
        }
        catch (ApiException e) when (!context.Response.HasStarted)
        {
            if (e.Code == 429 && e.Details?["retryAfterSeconds"] is JsonValue retry)
            {
                context.Response.Headers.RetryAfter = retry.ToString();
            }

            await WriteJsonAsync(context, e.Code, e.ToStatus()).ConfigureAwait(false);
        }
        catch (JsonException e) when (!context.Response.HasStarted)
        {
            await WriteJsonAsync(context, 400, ApiException.BadRequest($"the request body is not valid JSON: {e.Message}").ToStatus()).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            // A bug in LocalKube: say so in the Status rather than answer with an empty 500.
            await Console.Error.WriteLineAsync($"LocalKube: {context.Request.Method} {context.Request.Path}: {e}").ConfigureAwait(false);
            await WriteJsonAsync(context, 500, new ApiException(500, "InternalError", $"LocalKube failed: {e.GetType().Name}: {e.Message}").ToStatus()).ConfigureAwait(false);
        }
    }

    private async Task DispatchAsync(HttpContext context)
    {
        var path = context.Request.Path.Value?.TrimEnd('/') ?? "";
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var method = context.Request.Method;
        if (path is not ("/healthz" or "/readyz" or "/livez"))
        {
            // Every authenticated user may read discovery and OpenAPI, as on a real cluster.
            context.Items[nameof(UserInfo)] = _security.Authenticate(context);
        }

        switch (path)
        {
            case "/healthz" or "/readyz" or "/livez":
                context.Response.ContentType = "text/plain";
                await context.Response.WriteAsync("ok", context.RequestAborted).ConfigureAwait(false);
                return;
            case "/version":
                await WriteJsonAsync(context, 200, Discovery.Version()).ConfigureAwait(false);
                return;
            case "/api":
                await WriteJsonAsync(context, 200, Discovery.CoreVersions(context.Request.Host.Value ?? "127.0.0.1")).ConfigureAwait(false);
                return;
            case "/apis":
                await WriteJsonAsync(context, 200, Discovery.Groups(_store.Registry)).ConfigureAwait(false);
                return;
            case "/openapi/v3":
                await WriteJsonAsync(context, 200, Discovery.OpenApiIndex(_store.Registry)).ConfigureAwait(false);
                return;
        }

        if (segments.Length >= 3 && segments[0] == "openapi" && segments[1] == "v3")
        {
            var doc = segments[2] == "api" && segments.Length == 4
                ? Discovery.OpenApi(_store.Registry, "", segments[3])
                : segments[2] == "apis" && segments.Length == 5 ? Discovery.OpenApi(_store.Registry, segments[3], segments[4]) : null;
            await WriteDocumentAsync(context, doc).ConfigureAwait(false);
            return;
        }

        string group, version;
        string[] rest;
        if (segments.Length >= 2 && segments[0] == "api")
        {
            (group, version, rest) = ("", segments[1], segments[2..]);
        }
        else if (segments.Length >= 2 && segments[0] == "apis")
        {
            if (segments.Length == 2)
            {
                await WriteDocumentAsync(context, Discovery.Group(_store.Registry, segments[1])).ConfigureAwait(false);
                return;
            }

            (group, version, rest) = (segments[1], segments[2], segments[3..]);
        }
        else
        {
            throw NotFound();
        }

        if (rest.Length == 0)
        {
            await WriteDocumentAsync(context, Discovery.Resources(_store.Registry, group, version)).ConfigureAwait(false);
            return;
        }

        var request = Parse(group, version, rest);
        await ServeAsync(context, method, request).ConfigureAwait(false);
    }

    private sealed record ResourceRequest(ResourceType Type, string? Namespace, string? Name, string? Subresource);

    private ResourceRequest Parse(string group, string version, string[] rest)
    {
        string? ns = null, name = null, sub = null;
        string plural;
        if (rest[0] == "namespaces" && rest.Length >= 3 && !(rest.Length == 3 && rest[2] is "status" or "finalize"))
        {
            (ns, plural) = (rest[1], rest[2]);
            name = rest.ElementAtOrDefault(3);
            sub = rest.ElementAtOrDefault(4);
            if (rest.Length > 5)
            {
                throw NotFound();
            }
        }
        else
        {
            plural = rest[0];
            name = rest.ElementAtOrDefault(1);
            sub = rest.ElementAtOrDefault(2);
            if (rest.Length > 3)
            {
                throw NotFound();
            }
        }

        var type = _store.Registry.Find(group, version, plural) ?? throw NotFound();
        if ((ns is not null && !type.Namespaced) || (type.Namespaced && ns is null && name is not null))
        {
            throw NotFound();
        }

        return new ResourceRequest(type, ns, name, sub);
    }

    private async Task ServeAsync(HttpContext context, string method, ResourceRequest r)
    {
        var query = context.Request.Query;
        if (query.ContainsKey("dryRun"))
        {
            throw ApiException.BadRequest("dryRun is not supported by LocalKube");
        }

        var verb = (method, r.Name) switch
        {
            ("GET", null) => query["watch"] is ["true" or "1"] ? "watch" : "list",
            ("GET", _) => "get",
            ("POST", _) => "create",
            ("PUT", _) => "update",
            ("PATCH", _) => "patch",
            ("DELETE", null) => "deletecollection",
            ("DELETE", _) => "delete",
            _ => method.ToLowerInvariant(),
        };
        _security.Authorize(context.Items[nameof(UserInfo)] as UserInfo, new RequestAttributes(verb, r.Type.Group, r.Type.Plural, r.Subresource, r.Namespace, r.Name));

        var ns = r.Namespace ?? "";
        var options = new WriteOptions { FieldValidation = FieldValidationOf(query["fieldValidation"]) };
        switch (method, r.Name, r.Subresource)
        {
            case ("GET", null, _):
                if (query["watch"] is ["true" or "1"])
                {
                    await WatchAsync(context, r).ConfigureAwait(false);
                }
                else
                {
                    await ListAsync(context, r).ConfigureAwait(false);
                }

                return;
            case ("POST", null, _):
                var created = _store.Create(r.Type, ns, await ReadObjectAsync(context).ConfigureAwait(false), options);
                await WriteObjectAsync(context, 201, created, options).ConfigureAwait(false);
                return;
            case ("DELETE", null, _):
                await DeleteCollectionAsync(context, r).ConfigureAwait(false);
                return;
            case ("GET", { } name, null or "status"):
                await WriteItemAsync(context, _store.Get(r.Type, ns, name)).ConfigureAwait(false);
                return;
            case ("PUT", { } name, null or "status"):
                var updated = _store.Update(r.Type, ns, name, await ReadObjectAsync(context).ConfigureAwait(false), r.Subresource == "status", options);
                await WriteObjectAsync(context, 200, updated, options).ConfigureAwait(false);
                return;
            case ("PATCH", { } name, null or "status") when IsApply(context):
                await ApplyAsync(context, r, name, options).ConfigureAwait(false);
                return;
            case ("PATCH", { } name, null or "status"):
                var patch = await ReadPatchAsync(context, r.Type).ConfigureAwait(false);
                var patched = _store.Patch(r.Type, ns, name, patch, r.Subresource == "status", options);
                await WriteObjectAsync(context, 200, patched, options).ConfigureAwait(false);
                return;
            case ("DELETE", { } name, null):
                await DeleteAsync(context, r.Type, ns, name).ConfigureAwait(false);
                return;
            case ("GET" or "PUT" or "PATCH", { } name, "scale") when r.Type.Scale is not null:
                await ScaleAsync(context, method, r.Type, ns, name).ConfigureAwait(false);
                return;
            case ("POST", { } name, "token") when r.Type.GroupResource == "serviceaccounts":
                _store.Get(r.Type, ns, name);
                await WriteJsonAsync(context, 201, new JsonObject
                {
                    ["kind"] = "TokenRequest",
                    ["apiVersion"] = "authentication.k8s.io/v1",
                    ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
                    ["spec"] = new JsonObject { ["audiences"] = new JsonArray() },
                    ["status"] = new JsonObject
                    {
                        ["token"] = _security.IssueServiceAccountToken(ns, name),
                        ["expirationTimestamp"] = Rfc3339.Format(_time.GetUtcNow() + TimeSpan.FromHours(1)),
                    },
                }).ConfigureAwait(false);
                return;
            case ("POST", { } name, "binding") when r.Type.GroupResource == "pods":
                await BindAsync(context, ns, name).ConfigureAwait(false);
                return;
            case ("PUT", { } name, "finalize") when r.Type.GroupResource == "namespaces":
                var body = await ReadObjectAsync(context).ConfigureAwait(false);
                var finalized = _store.Patch(r.Type, "", name, current =>
                {
                    current["spec"] = body["spec"]?.DeepClone() ?? new JsonObject();
                    return current;
                });
                await WriteObjectAsync(context, 200, finalized, options).ConfigureAwait(false);
                return;
            default:
                throw r.Subresource is not null && r.Subresource is not ("status" or "scale" or "binding" or "finalize" or "token")
                    ? NotFound()
                    : ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource");
        }
    }

    private async Task ListAsync(HttpContext context, ResourceRequest r)
    {
        var query = context.Request.Query;
        var labels = LabelSelector.Parse(query["labelSelector"]);
        var fields = FieldSelector.Parse(query["fieldSelector"], r.Type);
        var limit = int.TryParse(query["limit"], out var l) ? l : 0;
        var page = _store.List(r.Type, r.Namespace, labels, fields, limit, query["continue"].FirstOrDefault() is { Length: > 0 } c ? c : null);
        var rv = page.ResourceVersion.ToString(CultureInfo.InvariantCulture);

        if (Tables.Wanted(context.Request.Headers.Accept))
        {
            var table = Tables.Build(r.Type, page.Items.Select(i => i.Node), rv, query["includeObject"], _time.GetUtcNow());
            if (page.Continue is not null)
            {
                table["metadata"]!.AsObject()["continue"] = page.Continue;
            }

            await WriteJsonAsync(context, 200, table).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        await using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("kind", r.Type.Kind + "List");
            writer.WriteString("apiVersion", r.Type.ApiVersion);
            writer.WriteStartObject("metadata");
            writer.WriteString("resourceVersion", rv);
            if (page.Continue is not null)
            {
                writer.WriteString("continue", page.Continue);
                writer.WriteNumber("remainingItemCount", page.RemainingItemCount ?? 0);
            }

            writer.WriteEndObject();
            writer.WriteStartArray("items");
            foreach (var item in page.Items)
            {
                writer.WriteRawValue(item.Json, skipInputValidation: true);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        buffer.Position = 0;
        await buffer.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task WatchAsync(HttpContext context, ResourceRequest r)
    {
        var query = context.Request.Query;
        var labels = LabelSelector.Parse(query["labelSelector"]);
        var fields = FieldSelector.Parse(query["fieldSelector"], r.Type);
        long? from = query["resourceVersion"].FirstOrDefault() is { Length: > 0 } text
            ? long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : throw ApiException.BadRequest($"invalid resourceVersion \"{text}\"")
            : null;
        var bookmarks = query["allowWatchBookmarks"] is ["true" or "1"];
        var table = Tables.Wanted(context.Request.Headers.Accept);
        var includeObject = query["includeObject"].FirstOrDefault();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        if (int.TryParse(query["timeoutSeconds"], out var seconds) && seconds > 0)
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        }

        using var watcher = _store.Watch(r.Type, r.Namespace, labels, fields, from);
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await context.Response.StartAsync(context.RequestAborted).ConfigureAwait(false);

        // Send the headers now: a client waits for them before it reads events, and there may be none for a while.
        await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);

        using var bookmarkTimer = bookmarks ? new PeriodicTimer(_options.BookmarkInterval, _time) : null;
        var bookmarkLoop = bookmarkTimer is null ? Task.CompletedTask : Task.Run(async () =>
        {
            while (await bookmarkTimer.WaitForNextTickAsync(timeout.Token).ConfigureAwait(false))
            {
                _store.Bookmark(watcher);
            }
        }, timeout.Token);

        var first = true;
        try
        {
            while (await watcher.Reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false))
            {
                while (watcher.Reader.TryRead(out var item))
                {
                    if (_faults.WatchDelay(r.Type.Plural, item.Type, () => JsonNode.Parse(item.Json)?["metadata"]?["name"]?.GetValue<string>()) is { } held && held > TimeSpan.Zero)
                    {
                        await context.Response.Body.FlushAsync(timeout.Token).ConfigureAwait(false);
                        await Task.Delay(held, _time, timeout.Token).ConfigureAwait(false);
                    }

                    var line = item.ToLine();
                    if (table && item.Type is "ADDED" or "MODIFIED" or "DELETED")
                    {
                        var obj = JsonNode.Parse(item.Json)!.AsObject();
                        var rows = Tables.Build(r.Type, [obj], item.ResourceVersion.ToString(CultureInfo.InvariantCulture), includeObject, _time.GetUtcNow(), withColumns: first);
                        line = new WatchItem(item.Type, JsonSerializer.SerializeToUtf8Bytes(rows, Compact), item.ResourceVersion).ToLine();
                        first = false;
                    }

                    await context.Response.Body.WriteAsync(line, timeout.Token).ConfigureAwait(false);
                }

                await context.Response.Body.FlushAsync(timeout.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            // Timeout, injected close or client gone: end the stream.
        }
        finally
        {
            await timeout.CancelAsync().ConfigureAwait(false);
            try
            {
                await bookmarkLoop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The loop ends with the watch.
            }
        }
    }

    private static bool IsApply(HttpContext context) =>
        context.Request.ContentType?.StartsWith("application/apply-patch", StringComparison.Ordinal) == true;

    // Server-side apply, approximated: the applied configuration is merged into the live object (lists
    // with a known merge key item by item, other lists replaced) or creates it. Field ownership is not
    // tracked, so a field removed from the configuration is not removed from the object, and there are
    // no conflicts between managers.
    private async Task ApplyAsync(HttpContext context, ResourceRequest r, string name, WriteOptions options)
    {
        if (string.IsNullOrEmpty(context.Request.Query["fieldManager"]))
        {
            throw ApiException.BadRequest("PATCH with apply requires the fieldManager query parameter");
        }

        JsonObject applied;
        try
        {
            applied = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false) as JsonObject
                ?? throw ApiException.BadRequest("an apply patch must be an object");
        }
        catch (JsonException e)
        {
            throw new ApiException(415, "UnsupportedMediaType", $"LocalKube reads apply patches written as JSON (as kubectl sends them), not YAML: {e.Message}");
        }

        var ns = r.Namespace ?? "";
        if (r.Subresource is null && _store.TryGet(r.Type, ns, name) is null)
        {
            applied["metadata"] ??= new JsonObject();
            applied["metadata"]!.AsObject()["name"] = name;
            await WriteObjectAsync(context, 201, _store.Create(r.Type, ns, applied, options), options).ConfigureAwait(false);
            return;
        }

        applied["metadata"]?.AsObject().Remove("resourceVersion");
        var result = _store.Patch(r.Type, ns, name, current => Patches.StrategicMergePatch(current, applied) as JsonObject ?? current, r.Subresource == "status", options);
        await WriteObjectAsync(context, 200, result, options).ConfigureAwait(false);
    }

    private async Task DeleteAsync(HttpContext context, ResourceType type, string ns, string name)
    {
        var (policy, uid, rv, grace) = await ReadDeleteOptionsAsync(context, type).ConfigureAwait(false);
        var (obj, deleted) = _store.Delete(type, ns, name, policy, uid, rv, grace);
        await WriteJsonAsync(context, deleted ? 200 : 202, JsonNode.Parse(obj.Json)!).ConfigureAwait(false);
    }

    private async Task DeleteCollectionAsync(HttpContext context, ResourceRequest r)
    {
        var (policy, _, _, grace) = await ReadDeleteOptionsAsync(context, r.Type).ConfigureAwait(false);
        var page = _store.List(r.Type, r.Namespace, LabelSelector.Parse(context.Request.Query["labelSelector"]), FieldSelector.Parse(context.Request.Query["fieldSelector"], r.Type));
        var items = new JsonArray();
        foreach (var item in page.Items)
        {
            try
            {
                items.Add(JsonNode.Parse(_store.Delete(r.Type, item.Namespace, item.Name, policy, gracePeriodSeconds: grace).Object.Json));
            }
            catch (ApiException e) when (e.Code == 404)
            {
                // Deleted meanwhile, by a cascade of this very request or by another client.
            }
        }

        await WriteJsonAsync(context, 200, new JsonObject
        {
            ["kind"] = r.Type.Kind + "List",
            ["apiVersion"] = r.Type.ApiVersion,
            ["metadata"] = new JsonObject { ["resourceVersion"] = _store.ResourceVersion.ToString(CultureInfo.InvariantCulture) },
            ["items"] = items,
        }).ConfigureAwait(false);
    }

    private static async Task<(PropagationPolicy Policy, string? Uid, string? ResourceVersion, long? GracePeriodSeconds)> ReadDeleteOptionsAsync(HttpContext context, ResourceType type)
    {
        var text = context.Request.Query["propagationPolicy"].FirstOrDefault();
        string? uid = null, rv = null;
        long? grace = long.TryParse(context.Request.Query["gracePeriodSeconds"], NumberStyles.None, CultureInfo.InvariantCulture, out var g) ? g : null;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            var body = await ReadObjectAsync(context).ConfigureAwait(false);
            text = (string?)body["propagationPolicy"] ?? text;
            uid = (string?)body["preconditions"]?["uid"];
            rv = (string?)body["preconditions"]?["resourceVersion"];
            grace = (long?)body["gracePeriodSeconds"] ?? grace;
            if ((bool?)body["orphanDependents"] == true)
            {
                text ??= "Orphan";
            }
        }

        var policy = text switch
        {
            null or "" or "Background" => PropagationPolicy.Background,
            "Foreground" => PropagationPolicy.Foreground,
            "Orphan" => PropagationPolicy.Orphan,
            _ => throw ApiException.Invalid(type, "", [new FieldError("propagationPolicy", "FieldValueNotSupported", $"Unsupported value: \"{text}\": supported values: \"Foreground\", \"Background\", \"Orphan\"")]),
        };
        return (policy, uid, rv, grace);
    }

    private async Task ScaleAsync(HttpContext context, string method, ResourceType type, string ns, string name)
    {
        var scale = type.Scale!;
        JsonObject ToScale(JsonObject node)
        {
            var metadata = node["metadata"]!;
            var status = new JsonObject { ["replicas"] = JsonPathLite.Evaluate(node, scale.StatusReplicasPath)?.DeepClone() ?? 0 };
            var selector = scale.LabelSelectorPath is null
                ? SelectorText(node["spec"]?["selector"])
                : (string?)JsonPathLite.Evaluate(node, scale.LabelSelectorPath);
            if (selector is not null)
            {
                status["selector"] = selector;
            }

            return new JsonObject
            {
                ["kind"] = "Scale",
                ["apiVersion"] = "autoscaling/v1",
                ["metadata"] = new JsonObject
                {
                    ["name"] = metadata["name"]?.DeepClone(),
                    ["namespace"] = metadata["namespace"]?.DeepClone(),
                    ["uid"] = metadata["uid"]?.DeepClone(),
                    ["resourceVersion"] = metadata["resourceVersion"]?.DeepClone(),
                    ["creationTimestamp"] = metadata["creationTimestamp"]?.DeepClone(),
                },
                ["spec"] = new JsonObject { ["replicas"] = JsonPathLite.Evaluate(node, scale.SpecReplicasPath)?.DeepClone() ?? 0 },
                ["status"] = status,
            };
        }

        if (method == "GET")
        {
            await WriteJsonAsync(context, 200, ToScale(_store.Get(type, ns, name).Node)).ConfigureAwait(false);
            return;
        }

        Func<JsonObject, JsonObject>? patch = method == "PATCH" ? await ReadPatchAsync(context, type, strategic: false).ConfigureAwait(false) : null;
        var body = method == "PUT" ? await ReadObjectAsync(context).ConfigureAwait(false) : null;
        var result = _store.Patch(type, ns, name, current =>
        {
            var currentScale = ToScale(current);
            var wanted = body ?? patch!(currentScale);
            if ((string?)wanted["metadata"]?["resourceVersion"] is { Length: > 0 } rv && rv != (string?)current["metadata"]!["resourceVersion"])
            {
                throw ApiException.Conflict(type, name);
            }

            var replicas = wanted["spec"]?["replicas"] ?? throw ApiException.BadRequest("spec.replicas is required");
            Set(current, scale.SpecReplicasPath, replicas.DeepClone());
            return current;
        });
        await WriteJsonAsync(context, 200, ToScale(result.Node)).ConfigureAwait(false);
    }

    private async Task BindAsync(HttpContext context, string ns, string name)
    {
        var binding = await ReadObjectAsync(context).ConfigureAwait(false);
        var node = (string?)binding["target"]?["name"] ?? throw ApiException.BadRequest("binding.target.name is required");
        var pods = _store.Registry.Find("", "v1", "pods")!;
        _store.Patch(pods, ns, name, pod =>
        {
            if ((string?)pod["spec"]?["nodeName"] is { Length: > 0 } bound)
            {
                throw new ApiException(409, "Conflict", $"Operation cannot be fulfilled on pods/binding \"{name}\": pod {name} is already assigned to node \"{bound}\"");
            }

            pod["spec"]!.AsObject()["nodeName"] = node;
            return pod;
        });
        await WriteJsonAsync(context, 201, new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Success",
            ["code"] = 201,
        }).ConfigureAwait(false);
    }

    private static async Task<Func<JsonObject, JsonObject>> ReadPatchAsync(HttpContext context, ResourceType type, bool strategic = true)
    {
        RefuseProtobuf(context);
        var contentType = context.Request.ContentType?.Split(';')[0].Trim() ?? "";
        var body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        return contentType switch
        {
            "application/merge-patch+json" => current => Patches.MergePatch(current, body) as JsonObject ?? throw ApiException.BadRequest("a merge patch must be an object"),
            "application/json-patch+json" => current => Patches.JsonPatch(current, body as JsonArray ?? throw ApiException.BadRequest("a json patch must be an array")) as JsonObject
                ?? throw ApiException.BadRequest("the json patch replaced the object"),
            "application/strategic-merge-patch+json" when type.DefinedBy is null || !strategic =>
                current => Patches.StrategicMergePatch(current, body) as JsonObject ?? throw ApiException.BadRequest("a strategic merge patch must be an object"),
            "application/strategic-merge-patch+json" => throw new ApiException(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"),
            _ => throw new ApiException(415, "UnsupportedMediaType", $"the body of the request was in an unknown format ({contentType}) - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json"),
        };
    }

    private static async Task<JsonObject> ReadObjectAsync(HttpContext context)
    {
        if (ProtobufBody.Is(context.Request.ContentType))
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
            return ProtobufBody.Decode(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        }

        var node = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        return node as JsonObject ?? throw ApiException.BadRequest("the request body must be a JSON object");
    }

    // Patches are JSON documents in every format the API server accepts.
    private static void RefuseProtobuf(HttpContext context)
    {
        if (ProtobufBody.Is(context.Request.ContentType))
        {
            throw new ApiException(415, "UnsupportedMediaType", "a patch is a JSON document; the protobuf encoding is not a patch format");
        }
    }

    private async Task WriteItemAsync(HttpContext context, StoredObject obj)
    {
        if (Tables.Wanted(context.Request.Headers.Accept))
        {
            await WriteJsonAsync(context, 200, Tables.Build(obj.Type, [obj.Node], obj.ResourceVersion.ToString(CultureInfo.InvariantCulture), context.Request.Query["includeObject"], _time.GetUtcNow())).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(obj.Json, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task WriteObjectAsync(HttpContext context, int code, StoredObject obj, WriteOptions options)
    {
        foreach (var warning in options.Warnings)
        {
            context.Response.Headers.Append("Warning", $"299 - \"{warning.Replace("\"", "\\\"", StringComparison.Ordinal)}\"");
        }

        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(obj.Json, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task WriteDocumentAsync(HttpContext context, JsonObject? doc)
    {
        if (doc is null)
        {
            throw NotFound();
        }

        await WriteJsonAsync(context, 200, doc).ConfigureAwait(false);
    }

    private static async Task WriteJsonAsync(HttpContext context, int code, JsonNode body)
    {
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(body, Compact), context.RequestAborted).ConfigureAwait(false);
    }

    private static FieldValidation FieldValidationOf(string? text) => text switch
    {
        null or "" or "Warn" => FieldValidation.Warn,
        "Strict" => FieldValidation.Strict,
        "Ignore" => FieldValidation.Ignore,
        _ => throw ApiException.BadRequest($"fieldValidation must be Ignore, Warn or Strict, not \"{text}\""),
    };

    private static string? SelectorText(JsonNode? selector) =>
        selector?["matchLabels"] is JsonObject labels ? string.Join(",", labels.Select(l => $"{l.Key}={(string?)l.Value}")) : null;

    private static void Set(JsonObject obj, string path, JsonNode value)
    {
        var parts = path.TrimStart('.').Split('.');
        var current = obj;
        foreach (var part in parts[..^1])
        {
            if (current[part] is not JsonObject next)
            {
                next = [];
                current[part] = next;
            }

            current = next;
        }

        current[parts[^1]] = value;
    }

    private static ApiException NotFound() => new(404, "NotFound", "the server could not find the requested resource");
}
