namespace CoapEnroll.Testing;

/// <summary>One throwaway PostgreSQL cluster (<see cref="PostgresCluster"/>) for every test of a collection.</summary>
/// <remarks>
/// Compiled into each test project that links it (not into CoapEnroll.Testing, which the bench also uses and which does not depend
/// on xUnit); each project declares its own collection, as xUnit finds collection definitions only in the test assembly.
/// </remarks>
public class PostgresFixture : IAsyncLifetime
{
    private PostgresCluster? _cluster;

    public PostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("the cluster starts with the collection");

    public async Task InitializeAsync() => _cluster = await PostgresCluster.StartAsync(CancellationToken.None);

    public async Task DisposeAsync()
    {
        await StopClusterUsersAsync();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    /// <summary>Stops what a subclass started on the cluster; runs before the cluster stops.</summary>
    protected virtual Task StopClusterUsersAsync() => Task.CompletedTask;
}
