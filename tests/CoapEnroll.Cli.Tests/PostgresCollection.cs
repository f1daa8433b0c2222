namespace CoapEnroll.Cli.Tests;

/// <summary>The tests that share the run's PostgreSQL cluster: it starts before the first and stops after the last.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresNodesFixture>
{
    public const string Name = "PostgreSQL";
}
