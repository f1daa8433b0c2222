using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Ca.Postgres;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Testing;

namespace CoapEnroll.Cli.Tests;

/// <summary><c>coapenroll requests</c> on the PostgreSQL store (<c>--Store:Provider=postgres</c>): no DIR/coapenroll.db is looked for or made.</summary>
[Collection(PostgresCollection.Name)]
public sealed class StoreProviderCliTests(PostgresNodesFixture fixture)
{
    [Fact]
    public async Task RequestsList_ReadsThePostgresStore_WithoutADatabaseFile()
    {
        using var dir = new TempDirectory("coapenroll-cli-store-");
        string connectionString = await fixture.Cluster.CreateDatabaseAsync(CancellationToken.None);
        await using (PostgresCertificateStore store = await PostgresCertificateStore.OpenAsync(connectionString, null, CancellationToken.None))
        {
            using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            byte[] csr = new CertificateRequest("CN=pg-pending-1", key, HashAlgorithmName.SHA256).CreateSigningRequest();
            await store.AddPendingAsync(new StoredRequest { RequestKey = "k", CsrDer = csr, Requester = "device-7", Protocol = "est-coaps", Profile = "default" },
                new AuditEntry { Actor = "test", Action = "pending", Details = "held" }, CancellationToken.None);
        }

        string[] settings = ["--data", dir.Path, "--Store:Provider=postgres", $"--Store:ConnectionString={connectionString}"];
        CliResult pending = await CliAssert.SucceedsAsync(["requests", "list", .. settings]);
        Assert.Contains("CN=pg-pending-1", pending.Output, StringComparison.Ordinal);
        Assert.Contains("device-7", pending.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir.Path, "coapenroll.db")));

        // The same data directory without the setting: SQLite, which has no store there yet.
        await CliAssert.FailsAsync(ExitCodes.Usage, ["No certificate store"], ["requests", "list", "--data", dir.Path]);
    }

    [Fact]
    public async Task Serve_WithABadStoreSetting_OrAnUnreachableDatabase_FailsInOneLine()
    {
        using var dir = new TempDirectory("coapenroll-cli-store-");
        string[] ports = ["--data", dir.Path, "--coap-port", "0", "--coaps-port", "0", "--http-port", "0", "--https-port", "0"];
        await CliAssert.FailsAsync(ExitCodes.Usage, ["Store:Provider 'mysql' is not one of sqlite, postgres"], ["serve", .. ports, "--Store:Provider=mysql"]);

        int closed;
        using (var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            listener.Start();
            closed = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }

        await CliAssert.FailsAsync(ExitCodes.Failure, ["Cannot open the certificate store PostgreSQL database nowhere on 127.0.0.1"],
            ["serve", .. ports, "--Store:Provider=postgres", $"--Store:ConnectionString=Host=127.0.0.1;Port={closed};Database=nowhere;Username=u;Timeout=3"]);

        // A database the server does not have is the configuration's (3D000): exit 2, which the systemd unit does not restart.
        var missing = new Npgsql.NpgsqlConnectionStringBuilder(await fixture.Cluster.CreateDatabaseAsync(CancellationToken.None)) { Database = "not_created_here" };
        await CliAssert.FailsAsync(ExitCodes.Usage, ["Cannot open the certificate store", "not_created_here"],
            ["serve", .. ports, "--Store:Provider=postgres", $"--Store:ConnectionString={missing.ConnectionString}"]);
    }
}
