using System.Security.Cryptography;
using System.Text.Json.Nodes;
using DePin.LocalKube.Storage;

namespace DePin.LocalKube.Http;

/// <summary>Who is calling: a user name and groups.</summary>
/// <param name="Name">User name, for example <c>system:serviceaccount:depin-system:operator</c>.</param>
/// <param name="Groups">Groups, for example <c>system:masters</c>.</param>
public sealed record UserInfo(string Name, IReadOnlyList<string> Groups);

/// <summary>What a request does, as RBAC sees it.</summary>
/// <param name="Verb">get, list, watch, create, update, patch, delete or deletecollection.</param>
/// <param name="Group">API group, empty for core.</param>
/// <param name="Resource">Plural resource name.</param>
/// <param name="Subresource">Subresource, or null.</param>
/// <param name="Namespace">Namespace, or null at cluster scope.</param>
/// <param name="Name">Object name, or null.</param>
public sealed record RequestAttributes(string Verb, string Group, string Resource, string? Subresource, string? Namespace, string? Name);

/// <summary>
/// Optional bearer-token authentication and RBAC authorization from the Roles, ClusterRoles and
/// bindings stored in the server, so that a test can prove a set of RBAC rules is enough. Off unless
/// enabled: then every request needs a known token, and members of <c>system:masters</c> may do anything.
/// </summary>
public sealed class Security
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, UserInfo> _tokens = new(StringComparer.Ordinal);
    private readonly List<string> _denials = [];
    private readonly ObjectStore _store;

    /// <summary>Creates the security layer.</summary>
    /// <param name="store">Where roles and bindings are read from.</param>
    /// <param name="enabled">Whether requests must authenticate and are authorized by RBAC.</param>
    public Security(ObjectStore store, bool enabled)
    {
        _store = store;
        Enabled = enabled;
        AdminToken = enabled ? IssueToken(new UserInfo("localkube-admin", ["system:masters", "system:authenticated"])) : null;
    }

    /// <summary>Whether authentication and authorization are on.</summary>
    public bool Enabled { get; }

    /// <summary>The token of the administrator (group <c>system:masters</c>), or null when security is off.</summary>
    public string? AdminToken { get; }

    /// <summary>Every request refused with 403 so far, as its message, oldest first.</summary>
    public IReadOnlyList<string> Denials
    {
        get
        {
            lock (_lock)
            {
                return [.. _denials];
            }
        }
    }

    /// <summary>Issues a bearer token for a user.</summary>
    /// <param name="user">The user.</param>
    /// <returns>The token.</returns>
    public string IssueToken(UserInfo user)
    {
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        lock (_lock)
        {
            _tokens[token] = user;
        }

        return token;
    }

    /// <summary>Issues a token for a ServiceAccount, as TokenRequest does.</summary>
    /// <param name="ns">Namespace of the ServiceAccount.</param>
    /// <param name="name">Its name.</param>
    /// <returns>The token.</returns>
    public string IssueServiceAccountToken(string ns, string name) =>
        IssueToken(new UserInfo($"system:serviceaccount:{ns}:{name}", ["system:serviceaccounts", $"system:serviceaccounts:{ns}", "system:authenticated"]));

    internal UserInfo? Authenticate(HttpContext context)
    {
        if (!Enabled)
        {
            return null;
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            lock (_lock)
            {
                if (_tokens.TryGetValue(header["Bearer ".Length..].Trim(), out var user))
                {
                    return user;
                }
            }
        }

        throw new ApiException(401, "Unauthorized", "Unauthorized");
    }

    internal void Authorize(UserInfo? user, RequestAttributes request)
    {
        if (user is null || user.Groups.Contains("system:masters") || Allows(user, request))
        {
            return;
        }

        var resource = request.Subresource is null ? request.Resource : $"{request.Resource}/{request.Subresource}";
        var scope = request.Namespace is null ? "at the cluster scope" : $"in the namespace \"{request.Namespace}\"";
        var what = request.Name is null ? request.Resource : $"{request.Resource} \"{request.Name}\"";
        var message = $"{what} is forbidden: User \"{user.Name}\" cannot {request.Verb} resource \"{resource}\" in API group \"{request.Group}\" {scope}";
        lock (_lock)
        {
            _denials.Add(message);
        }

        throw new ApiException(403, "Forbidden", message,
            new JsonObject { ["name"] = request.Name, ["group"] = request.Group, ["kind"] = request.Resource });
    }

    private bool Allows(UserInfo user, RequestAttributes request)
    {
        var clusterRoles = _store.Registry.Find("rbac.authorization.k8s.io", "v1", "clusterroles")!;
        var roles = _store.Registry.Find("rbac.authorization.k8s.io", "v1", "roles")!;
        var clusterBindings = _store.Registry.Find("rbac.authorization.k8s.io", "v1", "clusterrolebindings")!;
        var bindings = _store.Registry.Find("rbac.authorization.k8s.io", "v1", "rolebindings")!;

        IEnumerable<JsonNode> RulesOf(JsonNode roleRef, string? bindingNamespace)
        {
            var role = (string?)roleRef["kind"] == "ClusterRole"
                ? _store.TryGet(clusterRoles, "", (string)roleRef["name"]!)
                : bindingNamespace is null ? null : _store.TryGet(roles, bindingNamespace, (string)roleRef["name"]!);
            return role?.Node["rules"] is JsonArray rules ? rules.OfType<JsonNode>() : [];
        }

        foreach (var binding in _store.Snapshot(clusterBindings))
        {
            if (Bound(binding.Node, user, null) && RulesOf(binding.Node["roleRef"]!, null).Any(r => RuleAllows(r, request)))
            {
                return true;
            }
        }

        if (request.Namespace is null)
        {
            return false;
        }

        return _store.Snapshot(bindings).Where(b => b.Namespace == request.Namespace)
            .Any(b => Bound(b.Node, user, b.Namespace) && RulesOf(b.Node["roleRef"]!, b.Namespace).Any(r => RuleAllows(r, request)));
    }

    private static bool Bound(JsonNode binding, UserInfo user, string? bindingNamespace) =>
        (binding["subjects"] as JsonArray ?? []).Any(subject => (string?)subject!["kind"] switch
        {
            "User" => (string?)subject["name"] == user.Name,
            "Group" => user.Groups.Contains((string?)subject["name"] ?? ""),
            "ServiceAccount" => user.Name == $"system:serviceaccount:{(string?)subject["namespace"] ?? bindingNamespace}:{(string?)subject["name"]}",
            _ => false,
        });

    private static bool RuleAllows(JsonNode rule, RequestAttributes request)
    {
        static bool Has(JsonNode? list, string value) => list is JsonArray a && a.Any(v => (string?)v == value || (string?)v == "*");

        if (!Has(rule["verbs"], request.Verb) || !Has(rule["apiGroups"], request.Group))
        {
            return false;
        }

        var resources = rule["resources"] as JsonArray ?? [];
        var resourceMatches = request.Subresource is null
            ? resources.Any(r => (string?)r == request.Resource || (string?)r == "*")
            : resources.Any(r => (string?)r == $"{request.Resource}/{request.Subresource}" || (string?)r == $"*/{request.Subresource}" || (string?)r == "*");
        if (!resourceMatches)
        {
            return false;
        }

        var names = rule["resourceNames"] as JsonArray;
        return names is null || names.Count == 0 || (request.Name is not null && names.Any(n => (string?)n == request.Name));
    }
}
