using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Cli.Tests.Infrastructure;

/// <summary>
/// Several <c>coapenroll serve</c> processes on one PostgreSQL database, as several nodes of one CA (issue 13): the first creates
/// the CA in its data directory, the others get copies of that directory (the CA's keys and certificates, as an operator copies
/// them to each machine) and share nothing else but the database. Each node listens on its own ports on 127.0.0.1.
/// </summary>
public sealed class ServeNodes : IAsyncDisposable
{
    /// <summary>A CMP shared secret every node knows, for any name.</summary>
    public const string Reference = "fleet";

    public const string Secret = "fleet-secret-5d1e0b7c93";

    /// <summary>A profile whose requests wait for an operator.</summary>
    public const string HeldProfile = "held";

    private readonly string _work;

    private ServeNodes(string work, string connectionString, IReadOnlyList<ServeProcess> nodes, IReadOnlyList<int> httpPorts)
    {
        _work = work;
        ConnectionString = connectionString;
        Nodes = nodes;
        HttpPorts = httpPorts;
    }

    public string ConnectionString { get; }

    public IReadOnlyList<ServeProcess> Nodes { get; }

    /// <summary>The http:// port of each node (CMP over HTTP).</summary>
    public IReadOnlyList<int> HttpPorts { get; }

    /// <summary>What the CLI needs to act on the same CA as the nodes: the store, and the profiles (an approval issues under its profile).</summary>
    public string[] CliSettings => ["--Store:Provider=postgres", $"--Store:ConnectionString={ConnectionString}", $"--Ca:Profiles:{HeldProfile}:RequiresApproval=true"];

    /// <summary>The CA's root, the same on every node.</summary>
    public string TrustAnchor => Nodes[0].TrustAnchor;

    /// <summary>The demo device's certificate with its key (created by the first node, copied to the others).</summary>
    public X509Certificate2 LoadDemoDevice() => X509Certificate2.CreateFromPemFile(
        Path.Combine(Nodes[0].DataDirectory, "demo", "device.pem"), Path.Combine(Nodes[0].DataDirectory, "demo", "device.key"));

    /// <summary>Node <paramref name="node"/>'s first byte of the DTLS connection IDs it chooses (<c>Dtls:ConnectionIdPrefix</c>), in hex.</summary>
    public static string ConnectionIdPrefix(int node) => (0xC0 + node).ToString("X2", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The CMP-over-HTTP URL of node <paramref name="node"/>.</summary>
    public Uri CmpUri(int node, string path = "/.well-known/cmp") => new($"http://127.0.0.1:{HttpPorts[node]}{path}");

    public static async Task<ServeNodes> StartAsync(string connectionString, int count)
    {
        string work = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "nodes-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        string[] settings =
        [
            "--Store:Provider=postgres", $"--Store:ConnectionString={connectionString}",
            $"--Cmp:SharedSecrets:{Reference}:Secret={Secret}", $"--Cmp:SharedSecrets:{Reference}:AnyName=true",
            $"--Ca:Profiles:{HeldProfile}:RequiresApproval=true",
        ];
        for (int i = 0; i < count; i++)
        {
            Directory.CreateDirectory(Path.Combine(work, $"node-{i}"));
        }

        var nodes = new List<ServeProcess>();
        try
        {
            nodes.Add(await ServeProcess.StartAsync(Path.Combine(work, "node-0"), [.. settings, "--Dtls:ConnectionIdPrefix=" + ConnectionIdPrefix(0)]));
            for (int i = 1; i < count; i++)
            {
                CopyDirectory(nodes[0].DataDirectory, Path.Combine(work, $"node-{i}", "data"));
            }

            nodes.AddRange(await Task.WhenAll(Enumerable.Range(1, count - 1).Select(i =>
                ServeProcess.StartAsync(Path.Combine(work, $"node-{i}"), [.. settings, "--Dtls:ConnectionIdPrefix=" + ConnectionIdPrefix(i)]))));
            int[] httpPorts = await Task.WhenAll(nodes.Select(n => n.WaitForHttpPortAsync()));
            return new ServeNodes(work, connectionString, nodes, httpPorts);
        }
        catch
        {
            foreach (ServeProcess node in nodes)
            {
                await node.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>What every node printed, for assertion messages.</summary>
    public string Output => string.Join(Environment.NewLine, Nodes.Select((n, i) => $"--- node {i} ---{Environment.NewLine}{n.Output}"));

    public async ValueTask DisposeAsync()
    {
        foreach (ServeProcess node in Nodes)
        {
            await node.DisposeAsync();
        }

        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (string directory in Directory.GetDirectories(from))
        {
            CopyDirectory(directory, Path.Combine(to, Path.GetFileName(directory)));
        }
    }
}
