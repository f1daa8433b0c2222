using System.Text;
using Microsoft.Data.Sqlite;

namespace CoapEnroll.Ca.Tests;

/// <summary>The store's shared secrets (<see cref="ISharedSecretStore"/>): add, read, list, remove, and one-time consumption.</summary>
public sealed class SharedSecretStoreTests : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("coapenroll-secrets-").FullName;

    private string Database => Path.Combine(_directory, "coapenroll.db");

    [Fact]
    public async Task Add_Get_List_Remove_KeepEveryField_AndAuditWithoutTheSecret()
    {
        await using SqliteCertificateStore store = await SqliteCertificateStore.OpenAsync(Database, null, CancellationToken.None);
        DateTimeOffset expires = DateTimeOffset.UtcNow.AddDays(7);
        var secret = new StoredSharedSecret
        {
            Reference = "onboard-17", Secret = Encoding.UTF8.GetBytes("s3cret-value-0001"), Profile = "iot", Subject = "CN=device-17, O=Acme",
            ExpiresAt = expires, OneTime = true,
        };
        Assert.True(await store.TryAddSharedSecretAsync(secret, Audit("secret-add onboard-17"), CancellationToken.None));
        Assert.False(await store.TryAddSharedSecretAsync(secret with { Secret = [1] }, Audit("again"), CancellationToken.None));

        StoredSharedSecret read = (await store.GetSharedSecretAsync("onboard-17", CancellationToken.None))!;
        Assert.Equal("s3cret-value-0001", Encoding.UTF8.GetString(read.Secret));
        Assert.Equal(("iot", "CN=device-17, O=Acme", false, true), (read.Profile, read.Subject, read.AnyName, read.OneTime));
        Assert.Equal(expires.UtcTicks / TimeSpan.TicksPerMillisecond, read.ExpiresAt!.Value.UtcTicks / TimeSpan.TicksPerMillisecond);
        Assert.True(read.CreatedAt > DateTimeOffset.UtcNow.AddMinutes(-1));
        Assert.Null(read.ConsumedAt);
        Assert.Null(await store.GetSharedSecretAsync("ONBOARD-17", CancellationToken.None));

        Assert.True(await store.TryAddSharedSecretAsync(new StoredSharedSecret { Reference = "a-first", Secret = [7], AnyName = true }, Audit("secret-add a-first"), CancellationToken.None));
        Assert.Equal(["a-first", "onboard-17"], (await store.ListSharedSecretsAsync(10, CancellationToken.None)).Select(s => s.Reference));

        Assert.True(await store.RemoveSharedSecretAsync("onboard-17", Audit("secret-remove onboard-17"), CancellationToken.None));
        Assert.False(await store.RemoveSharedSecretAsync("onboard-17", Audit("nothing"), CancellationToken.None));
        Assert.Null(await store.GetSharedSecretAsync("onboard-17", CancellationToken.None));

        IReadOnlyList<AuditEntry> audit = await store.ListAuditAsync(10, CancellationToken.None);
        Assert.Equal(["secret-remove onboard-17", "secret-add a-first", "secret-add onboard-17"], audit.Select(a => a.Details));
        Assert.DoesNotContain(audit, a => a.Details.Contains("s3cret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OneTimeSecret_IsConsumedOnce_EvenByRacingEnrollments_AndCanBeReleasedByItsConsumer()
    {
        await using SqliteCertificateStore store = await SqliteCertificateStore.OpenAsync(Database, null, CancellationToken.None);
        await store.TryAddSharedSecretAsync(new StoredSharedSecret { Reference = "code", Secret = [1, 2, 3], OneTime = true }, Audit("add"), CancellationToken.None);
        await store.TryAddSharedSecretAsync(new StoredSharedSecret { Reference = "reusable", Secret = [4] }, Audit("add"), CancellationToken.None);

        bool[] won = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            store.TryConsumeSharedSecretAsync("code", $"transaction-{i}", Audit($"consumed by {i}"), CancellationToken.None))));
        Assert.Single(won, w => w);
        StoredSharedSecret consumed = (await store.GetSharedSecretAsync("code", CancellationToken.None))!;
        Assert.True(consumed.IsConsumed);
        string winner = $"transaction-{Array.IndexOf(won, true)}";
        Assert.Equal(winner, consumed.ConsumedBy);

        // Only the consumer gives it back.
        await store.ReleaseSharedSecretAsync("code", "someone-else", CancellationToken.None);
        Assert.True((await store.GetSharedSecretAsync("code", CancellationToken.None))!.IsConsumed);
        await store.ReleaseSharedSecretAsync("code", winner, CancellationToken.None);
        Assert.False((await store.GetSharedSecretAsync("code", CancellationToken.None))!.IsConsumed);

        // A secret that is not one-time is never consumed.
        Assert.False(await store.TryConsumeSharedSecretAsync("reusable", "t", Audit("x"), CancellationToken.None));
        Assert.False(await store.TryConsumeSharedSecretAsync("absent", "t", Audit("x"), CancellationToken.None));
    }

    [Fact]
    public async Task ADatabaseOfThisSchemaVersionWithoutTheTable_GetsIt_AndKeepsItsVersion()
    {
        await using (SqliteCertificateStore first = await SqliteCertificateStore.OpenAsync(Database, null, CancellationToken.None))
        {
        }

        await using (var connection = new SqliteConnection($"Data Source={Database};Pooling=False"))
        {
            await connection.OpenAsync();
            await using SqliteCommand drop = connection.CreateCommand();
            drop.CommandText = "DROP TABLE shared_secrets;";
            await drop.ExecuteNonQueryAsync();
        }

        await using SqliteCertificateStore store = await SqliteCertificateStore.OpenAsync(Database, null, CancellationToken.None);
        Assert.True(await store.TryAddSharedSecretAsync(new StoredSharedSecret { Reference = "r", Secret = [1] }, Audit("add"), CancellationToken.None));
        await using var check = new SqliteConnection($"Data Source={Database};Pooling=False");
        await check.OpenAsync();
        await using SqliteCommand version = check.CreateCommand();
        version.CommandText = "PRAGMA user_version;";
        Assert.Equal((long)SqliteCertificateStore.SchemaVersion, (long)(await version.ExecuteScalarAsync())!);
    }

    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }

    private static AuditEntry Audit(string details) => new() { Actor = "test", Action = "secret", Details = details };
}
