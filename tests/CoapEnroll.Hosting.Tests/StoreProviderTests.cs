using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca.Postgres;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CoapEnroll.Hosting.Tests;

/// <summary>Store:Provider and Store:ConnectionString: SQLite by default, PostgreSQL when configured, and a bad setting stops the host.</summary>
[Collection(PostgresCollection.Name)]
public sealed class StoreProviderTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Postgres_IsTheStore_WhenConfigured_AndWhatTheCaIssuesIsInTheDatabase_NotInDIR()
    {
        using var dir = new TempDirectory("coapenroll-store-");
        string connectionString = await fixture.Cluster.CreateDatabaseAsync(CancellationToken.None);
        using IHost host = Build(dir.File("data"), new() { ["Store:Provider"] = "Postgres", ["Store:ConnectionString"] = connectionString });
        await host.StartAsync();
        CertificationServices certification = host.Services.GetRequiredService<CertificationServices>();
        Assert.IsType<PostgresCertificateStore>(certification.Store);
        Assert.False(certification.StoreIsDatabaseFile);
        Assert.StartsWith("PostgreSQL database test_", certification.StoreLocation, StringComparison.Ordinal);

        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = new CertificateRequest("CN=pg-device-1", key, HashAlgorithmName.SHA256).CreateSigningRequest();
        IssuanceResult result = await certification.Authority.IssueAsync(new IssuanceRequest
        {
            CsrDer = csr, Requester = "test", Protocol = "est-coaps", RequestKey = IssuanceRequest.ComputeRequestKey(csr, "test"),
        }, CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, result.Status);
        await host.StopAsync();
        Assert.False(File.Exists(certification.Layout.Database));

        await using PostgresCertificateStore other = await PostgresCertificateStore.OpenAsync(connectionString, null, CancellationToken.None);
        Assert.Equal(result.Certificate!.SerialNumber, (await other.GetCertificateAsync(result.Certificate.SerialNumber, CancellationToken.None))!.SerialNumber);
    }

    [Fact]
    public async Task Sqlite_IsTheDefault()
    {
        using var dir = new TempDirectory("coapenroll-store-");
        using IHost host = Build(dir.File("data"), []);
        await host.StartAsync();
        CertificationServices certification = host.Services.GetRequiredService<CertificationServices>();
        Assert.IsType<SqliteCertificateStore>(certification.Store);
        Assert.Equal(certification.Layout.Database, certification.StoreLocation);
        Assert.True(File.Exists(certification.Layout.Database));
        await host.StopAsync();
    }

    [Theory]
    [InlineData("mysql", null, "Store:Provider 'mysql' is not one of sqlite, postgres")]
    [InlineData("postgres", null, "Store:Provider=postgres needs Store:ConnectionString")]
    [InlineData("postgres", "Hots=nowhere", "Store:ConnectionString:")]
    [InlineData(null, "Host=db", "Store:ConnectionString applies to Store:Provider=postgres")]
    public async Task ABadStoreSetting_StopsTheHostWithWhatIsWrong(string? provider, string? connectionString, string expected)
    {
        using var dir = new TempDirectory("coapenroll-store-");
        using IHost host = Build(dir.File("data"), new() { ["Store:Provider"] = provider, ["Store:ConnectionString"] = connectionString });
        var failure = await Assert.ThrowsAsync<CaConfigurationException>(() => host.StartAsync());
        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
    }

    private static IHost Build(string dataDirectory, Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["DataDirectory"] = dataDirectory });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddCoapEnrollCertification(builder.Configuration);
        return builder.Build();
    }
}
