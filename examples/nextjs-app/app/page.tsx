// The client list, read through Prisma on every request (relations, an enum, decimals).
import { db } from "../lib/db";

export const dynamic = "force-dynamic";

export default async function ClientsPage() {
  const clients = await db().client.findMany({
    orderBy: [{ lastName: "asc" }, { firstName: "asc" }],
    take: 100,
    include: {
      advisor: { select: { firstName: true, lastName: true } },
      loans: { select: { loanNumber: true, status: true, principalAmount: true } },
    },
  });
  return (
    <main>
      <h1>Clientes</h1>
      {clients.length === 0 ? (
        <p>No hay clientes todavía.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Cliente</th>
              <th>Estado</th>
              <th>Asesor</th>
              <th>Préstamos</th>
            </tr>
          </thead>
          <tbody>
            {clients.map((client) => (
              <tr key={client.id} data-client={client.id}>
                <td>
                  {client.firstName} {client.lastName}
                </td>
                <td>{client.status}</td>
                <td>{client.advisor ? `${client.advisor.firstName} ${client.advisor.lastName}` : "—"}</td>
                <td>
                  {client.loans
                    .map((loan) => `${loan.loanNumber} ${loan.status} ${loan.principalAmount.toFixed(2)}`)
                    .join(", ")}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
