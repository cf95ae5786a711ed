import type { Metadata } from "next";
import type { ReactNode } from "react";

export const metadata: Metadata = { title: "EscalaFin" };

// System fonts only: nothing is downloaded at build or run time (no next/font/google).
export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="es">
      <body style={{ fontFamily: "system-ui, sans-serif", margin: "2rem" }}>{children}</body>
    </html>
  );
}
