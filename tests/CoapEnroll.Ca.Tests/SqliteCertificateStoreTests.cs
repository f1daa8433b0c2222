using Microsoft.Data.Sqlite;

namespace CoapEnroll.Ca.Tests;

/// <summary>The store contract on <see cref="SqliteCertificateStore"/>, and what is SQLite's own (the schema version in PRAGMA user_version).</summary>
public sealed class SqliteCertificateStoreTests : CertificateStoreContract, IDisposable
{
    private readonly TempDirectory _directory = new("coapenroll-store-");

    private string Database => _directory.File("coapenroll.db");

    [Fact]
    public async Task A_new_database_and_its_WAL_are_the_owners_alone_whatever_the_umask()
    {
        // The store holds CMP shared secrets; outside systemd (UMask=0077) the usual umask 022 made it 0644.
        Assert.True(await ((ISharedSecretStore)Store).TryAddSharedSecretAsync(new StoredSharedSecret { Reference = "r", Secret = [1] },
            new AuditEntry { Actor = "t", Action = "t", Details = "add" }, CancellationToken.None));
        foreach (string file in new[] { Database, Database + "-wal" })
        {
            Assert.True(File.Exists(file), file);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }
        }
    }

    [Fact]
    public async Task ADatabaseOfThisSchemaVersionWithoutTheSharedSecretTable_GetsIt_AndKeepsItsVersion()
    {
        await Store.DisposeAsync();
        await using (var connection = new SqliteConnection($"Data Source={Database};Pooling=False"))
        {
            await connection.OpenAsync();
            await using SqliteCommand drop = connection.CreateCommand();
            drop.CommandText = "DROP TABLE shared_secrets;";
            await drop.ExecuteNonQueryAsync();
        }

        var store = (ISharedSecretStore)await OpenAsync();
        Assert.True(await store.TryAddSharedSecretAsync(new StoredSharedSecret { Reference = "r", Secret = [1] }, new AuditEntry { Actor = "t", Action = "t", Details = "add" }, CancellationToken.None));
        await using var check = new SqliteConnection($"Data Source={Database};Pooling=False");
        await check.OpenAsync();
        await using SqliteCommand version = check.CreateCommand();
        version.CommandText = "PRAGMA user_version;";
        Assert.Equal((long)SqliteCertificateStore.SchemaVersion, (long)(await version.ExecuteScalarAsync())!);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    protected override Task CreateDatabaseAsync() => Task.CompletedTask;

    protected override async Task<ICertificateStore> OpenStoreAsync(CancellationToken cancellationToken) =>
        await SqliteCertificateStore.OpenAsync(Database, null, cancellationToken);
}
