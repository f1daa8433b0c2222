using CoapEnroll.Ca.Postgres;
using Npgsql;

namespace CoapEnroll.Ca.Tests;

/// <summary>The store contract on <see cref="PostgresCertificateStore"/>, each test on a new database of the run's cluster, and its schema versioning.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresCertificateStoreTests(PostgresFixture fixture) : CertificateStoreContract
{
    private string _connectionString = "";

    [Fact]
    public async Task TheSchemaVersion_IsRecorded_OpeningAgainKeepsTheData_AndANewerSchemaIsRefused()
    {
        await Store.AppendAuditAsync(new AuditEntry { Actor = "t", Action = "t", Details = "kept" }, CancellationToken.None);
        // Nodes starting at once on one database: the schema is created once.
        ICertificateStore[] more = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => OpenAsync()));
        Assert.Equal("kept", Assert.Single(await more[2].ListAuditAsync(10, CancellationToken.None)).Details);
        Assert.Equal(PostgresCertificateStore.SchemaVersion, await ScalarAsync<int>("SELECT version FROM schema_version;"));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM schema_version;"));

        await ScalarAsync<int>($"UPDATE schema_version SET version = {PostgresCertificateStore.SchemaVersion + 1} RETURNING version;");
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgresCertificateStore.OpenAsync(_connectionString, null, CancellationToken.None));
        Assert.Contains("newer", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADatabaseOfVersion1_IsMigrated_KeepingItsRows()
    {
        await Store.AddPendingAsync(new StoredRequest { RequestKey = "k", CsrDer = [1], Requester = "r", Protocol = "est-coaps", Profile = "default" },
            new AuditEntry { Actor = "t", Action = "t", Details = "d" }, CancellationToken.None);
        await ScalarAsync<int>("DROP INDEX requests_replaces; DROP TABLE protocol_transactions; UPDATE schema_version SET version = 1 RETURNING version;");

        ICertificateStore migrated = await OpenAsync();
        Assert.Equal(PostgresCertificateStore.SchemaVersion, await ScalarAsync<int>("SELECT version FROM schema_version;"));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM pg_indexes WHERE indexname = 'requests_replaces';"));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM pg_tables WHERE tablename = 'protocol_transactions';"));
        Assert.NotNull(await migrated.GetRequestByKeyAsync("k", CancellationToken.None));
    }

    protected override async Task CreateDatabaseAsync() => _connectionString = await fixture.Cluster.CreateDatabaseAsync(CancellationToken.None);

    protected override async Task<ICertificateStore> OpenStoreAsync(CancellationToken cancellationToken) =>
        await PostgresCertificateStore.OpenAsync(_connectionString, null, cancellationToken);

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
